/* ITIMER_REAL periodic at 50 ms with a SIGALRM handler counting (SA_RESTART): after restart
 * getitimer reports the 50 ms interval and the handler keeps counting: 4 more ticks come (within
 * 5 s, a bound for loaded machines) and take at least 150 ms. */
#include "corpus.h"
#include <sys/time.h>

static volatile long ticks;
static void on_alrm(int s) {
  (void)s;
  ticks++;
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_alrm, .sa_flags = SA_RESTART};
  SYS(sigaction(SIGALRM, &sa, NULL));
  struct itimerval it = {{0, 50000}, {0, 50000}};
  SYS(setitimer(ITIMER_REAL, &it, NULL));
  while (ticks < 2) usleep(5000);

  ready_wait();

  struct itimerval cur;
  SYS(getitimer(ITIMER_REAL, &cur));
  CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 50000, "interval %ld.%06ld, want 0.05", (long)cur.it_interval.tv_sec,
        (long)cur.it_interval.tv_usec);
  long t0 = ticks;
  double s = now_mono();
  while (ticks - t0 < 4 && now_mono() - s < 5) usleep(10000);
  double dt = now_mono() - s;
  CHECK(ticks - t0 >= 4, "%ld ticks in %.1f s, want 4", ticks - t0, dt);
  CHECK(dt >= 0.14, "4 ticks of a 50 ms timer came in %.3f s", dt);
  pass();
}
