/* dnotify (fcntl F_NOTIFY on a directory, with F_SETSIG): after restart a file created in the
 * directory raises the chosen signal again. */
#include "corpus.h"

static volatile sig_atomic_t got;
static void on(int s) { (void)s; got = 1; }

int main(void) {
  SYS(mkdir("dn", 0700));
  int d = SYS(open("dn", O_RDONLY | O_DIRECTORY));
  struct sigaction sa = {.sa_handler = on};
  sigaction(SIGRTMIN + 1, &sa, NULL);
  SYS(fcntl(d, F_SETSIG, SIGRTMIN + 1));
  SYS(fcntl(d, F_NOTIFY, DN_CREATE | DN_MULTISHOT));

  ready_wait();

  int f = SYS(open("dn/new", O_CREAT | O_WRONLY, 0600));
  close(f);
  for (int i = 0; i < 200 && !got; i++) usleep(10000);
  CHECK(got, "no dnotify signal for a file created after restart (the F_NOTIFY registration is lost)");
  pass();
}
