/* The program of sig-alarm-eintr.c and sig-alarm-eintr-parked.c: alarm(ALARM_SECS) bounding a
 * blocking read, the handler without SA_RESTART (each .c says what its ALARM_SECS tests). */
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
  alarm(ALARM_SECS);
  char c;
  ssize_t n = read(p[0], &c, 1);
  int e = errno;
  double dt = now_mono() - t0;
  CHECK(n == -1 && e == EINTR, "read returned %zd (%s) after %.3f s, want EINTR from the alarm", n, strerror(e), dt);
  CHECK(alarms == 1, "the SIGALRM handler ran %d times", alarms);
  CHECK(dt >= ALARM_SECS - 0.01, "the alarm(%d) fired after %.3f s", ALARM_SECS, dt);
  read_line();
  pass();
}
