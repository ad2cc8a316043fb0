/* A POSIX timer with SIGEV_THREAD (glibc runs the callback in a helper thread), periodic 20 ms,
 * counting. After restart the same timer id still reports a 20 ms interval and the callback
 * keeps running: 5 more calls come (within 5 s, a bound for loaded machines). */
#include "corpus.h"

static volatile long calls;
static void tick(union sigval v) {
  if (v.sival_int == 777) __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
}

int main(void) {
  timer_t id;
  struct sigevent ev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = tick, .sigev_value.sival_int = 777};
  SYS(timer_create(CLOCK_MONOTONIC, &ev, &id));
  struct itimerspec its = {.it_interval = {0, 20000000}, .it_value = {0, 20000000}};
  SYS(timer_settime(id, 0, &its, NULL));
  while (calls < 3) usleep(5000);

  ready_wait();

  struct itimerspec cur;
  CHECK(!timer_gettime(id, &cur), "timer_gettime: %s (the timer id is gone)", strerror(errno));
  CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 20000000, "interval %ld.%09ld, want 0.02", (long)cur.it_interval.tv_sec,
        cur.it_interval.tv_nsec);
  long c0 = calls;
  double s = now_mono();
  while (calls - c0 < 5 && now_mono() - s < 5) usleep(5000);
  CHECK(calls - c0 >= 5, "the callback ran %ld times in %.1f s, want 5", calls - c0, now_mono() - s);
  pass();
}
