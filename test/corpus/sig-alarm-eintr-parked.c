/* sig-alarm-eintr with alarm(1): the alarm usually fires while the checkpoint has the thread
 * parked or while the computation is down between checkpoint --kill and restart, when amber, not
 * the kernel, decides how the interrupted read goes on: it must end with EINTR after the handler
 * ran once (>= 1 s after the alarm was set), as the alarm alone would have ended it. */
#include "corpus.h"

static volatile int alarms;
static void on_alarm(int s) { (void)s; alarms++; }

int main(void) {
  int p[2];
  SYS(pipe(p));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = 0; /* no SA_RESTART: the read must fail with EINTR */
  SYS(sigaction(SIGALRM, &sa, NULL));
  ready();
  double t0 = now_mono();
  alarm(1);
  char c;
  ssize_t n = read(p[0], &c, 1);
  int e = errno;
  double dt = now_mono() - t0;
  CHECK(n == -1 && e == EINTR, "read returned %zd (%s) after %.3f s, want EINTR from the alarm", n, strerror(e), dt);
  CHECK(alarms == 1, "the SIGALRM handler ran %d times", alarms);
  CHECK(dt >= 0.99, "the alarm(1) fired after %.3f s", dt);
  read_line();
  pass();
}
