/* dnotify on two directories: a multishot DN_MODIFY|DN_CREATE registration with F_SETSIG, and a
 * second descriptor whose registration was ended (F_NOTIFY 0) before the checkpoint. After restart
 * the first raises its signal with si_fd naming it, twice; the second raises nothing. A fork child
 * (which has no registration of its own) creates the files. */
#include "corpus.h"

static volatile sig_atomic_t hits_a, hits_b, bad_fd;
static int da, db;
static void on(int s, siginfo_t* si, void* u) {
  (void)s; (void)u;
  if (si->si_fd == da) hits_a++;
  else if (si->si_fd == db) hits_b++;
  else bad_fd = si->si_fd ? si->si_fd : -1;
}

int main(void) {
  SYS(mkdir("dna", 0700));
  SYS(mkdir("dnb", 0700));
  da = SYS(open("dna", O_RDONLY | O_DIRECTORY));
  db = SYS(open("dnb", O_RDONLY | O_DIRECTORY));
  struct sigaction sa = {.sa_sigaction = on, .sa_flags = SA_SIGINFO | SA_RESTART};
  sigaction(SIGRTMIN + 2, &sa, NULL);
  SYS(fcntl(da, F_SETSIG, SIGRTMIN + 2));
  SYS(fcntl(db, F_SETSIG, SIGRTMIN + 2));
  SYS(fcntl(da, F_NOTIFY, DN_CREATE | DN_MODIFY | DN_MULTISHOT));
  SYS(fcntl(db, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
  SYS(fcntl(db, F_NOTIFY, 0));

  ready_wait();

  pid_t c = SYS(fork());
  if (c == 0) {
    int f = open("dna/one", O_CREAT | O_WRONLY, 0600);
    if (f >= 0) close(f);
    f = open("dnb/one", O_CREAT | O_WRONLY, 0600);
    if (f >= 0) close(f);
    _exit(0);
  }
  int st;
  SYS(waitpid(c, &st, 0));
  for (int i = 0; i < 200 && !hits_a; i++) usleep(10000);
  int f = SYS(open("dna/two", O_CREAT | O_WRONLY, 0600));
  close(f);
  for (int i = 0; i < 200 && hits_a < 2; i++) usleep(10000);
  usleep(100000);
  CHECK(hits_a >= 2, "%d dnotify signals for 2 files created in the watched directory after restart", (int)hits_a);
  CHECK(hits_b == 0, "%d signals for the directory whose registration was ended", (int)hits_b);
  CHECK(bad_fd == 0, "a signal named fd %d", (int)bad_fd);
  pass();
}
