/* A program that bounds a blocking read with alarm(): SIGALRM's handler is installed without
 * SA_RESTART, alarm(3), then read() on a pipe nobody writes. Across the checkpoint the alarm must
 * still fire (not lost, not early: >= 3 s after it was set) and the read must end with EINTR after
 * the handler ran once — the program's own interruption is not hidden by amber's re-issue. */
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
  alarm(3);
  char c;
  ssize_t n = read(p[0], &c, 1);
  int e = errno;
  double dt = now_mono() - t0;
  CHECK(n == -1 && e == EINTR, "read returned %zd (%s) after %.3f s, want EINTR from the alarm", n, strerror(e), dt);
  CHECK(alarms == 1, "the SIGALRM handler ran %d times", alarms);
  CHECK(dt >= 2.99, "the alarm(3) fired after %.3f s", dt);
  read_line();
  pass();
}
