/* POSIX timers delivering a signal (SIGEV_SIGNAL): a periodic CLOCK_MONOTONIC timer (40 ms, SIGRTMIN+2,
 * sival 777) and a one-shot CLOCK_REALTIME timer armed TIMER_ABSTIME 100 s ahead (SIGRTMIN+3).
 * After restart both timer ids still work: the periodic one reports a 40 ms interval, its signal
 * keeps coming with si_value 777 and si_timerid of that timer (4 more in at least 120 ms); the
 * one-shot one has no more than its deadline minus the real time passed left, and has not fired. */
#include "corpus.h"

static volatile long ticks;
static volatile int bad_value, bad_code, bad_val, bad_tid, abs_fired;
static volatile int want_tid;
static void on_tick(int s, siginfo_t* si, void* u) {
  (void)s, (void)u;
  if ((si->si_code != SI_TIMER || si->si_value.sival_int != 777 || si->si_timerid != want_tid) && !bad_value) {
    bad_value = 1;
    bad_code = si->si_code;
    bad_val = si->si_value.sival_int;
    bad_tid = si->si_timerid;
  }
  ticks++;
}
static void on_abs(int s) { (void)s; abs_fired = 1; }

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART};
  SYS(sigaction(SIGRTMIN + 2, &sa, NULL));
  struct sigaction sb = {.sa_handler = on_abs, .sa_flags = SA_RESTART};
  SYS(sigaction(SIGRTMIN + 3, &sb, NULL));
  timer_t per, one;
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 2, .sigev_value.sival_int = 777};
  SYS(timer_create(CLOCK_MONOTONIC, &ev, &per));
  want_tid = (int)(intptr_t)per;
  struct sigevent ev2 = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 3};
  SYS(timer_create(CLOCK_REALTIME, &ev2, &one));
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  double t0 = now_mono();
  struct itimerspec a = {{0, 0}, {rt.tv_sec + 100, rt.tv_nsec}};
  SYS(timer_settime(one, TIMER_ABSTIME, &a, NULL));
  struct itimerspec p = {{0, 40000000}, {0, 40000000}};
  SYS(timer_settime(per, 0, &p, NULL));
  while (ticks < 2) usleep(5000);

  ready_wait();

  struct itimerspec cur;
  SYS(timer_gettime(per, &cur));
  CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 40000000, "periodic timer interval %ld.%09ld, want 0.04",
        (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
  long k = ticks;
  double s = now_mono();
  while (ticks - k < 4 && now_mono() - s < 5) usleep(5000);
  CHECK(ticks - k >= 4, "%ld ticks in 5 s after restart, want 4", ticks - k);
  CHECK(now_mono() - s >= 0.11, "4 ticks of a 40 ms timer came in %.3f s", now_mono() - s);
  CHECK(!bad_value, "a tick came with si_code %d value %d timer id %d, want SI_TIMER (%d) 777 %d", bad_code, bad_val, bad_tid, SI_TIMER, want_tid);
  SYS(timer_gettime(one, &cur));
  double left = (double)cur.it_value.tv_sec + (double)cur.it_value.tv_nsec / 1e9, el = now_mono() - t0;
  CHECK(left > 0 && !abs_fired, "the absolute timer is disarmed or fired (%.3f s left)", left);
  CHECK(left <= 100.0 - el + 0.5, "the absolute timer has %.3f s left after %.3f s of 100 s", left, el);
  pass();
}
