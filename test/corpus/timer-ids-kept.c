/* Three POSIX timers (timer_create, the kernel picks the ids) made before the checkpoint, one armed
 * 60 s away, one periodic 50 ms counting signals, one disarmed: after restart each id the program
 * holds still names its own timer (timer_gettime: the far one still ~60 s out, the periodic one
 * still periodic and firing, the disarmed one disarmed), timer_getoverrun works on each, a new
 * timer_create returns an id distinct from the three, and each deletes once (a second delete is
 * EINVAL). */
#include "corpus.h"

static volatile int ticks;
static void on_tick(int s) { (void)s; ticks++; }

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_tick;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGRTMIN + 1, &sa, NULL);
  timer_t far, per, off;
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR1; /* 'far' must never fire: its default action would kill us */
  SYS(timer_create(CLOCK_MONOTONIC, &ev, &far));
  ev.sigev_signo = SIGRTMIN + 1;
  SYS(timer_create(CLOCK_MONOTONIC, &ev, &per));
  ev.sigev_signo = SIGUSR2;
  SYS(timer_create(CLOCK_REALTIME, &ev, &off));
  struct itimerspec a = {{0, 0}, {60, 0}};
  SYS(timer_settime(far, 0, &a, NULL));
  struct itimerspec b = {{0, 50000000}, {0, 50000000}};
  SYS(timer_settime(per, 0, &b, NULL));
  double armed = now_mono();
  ready_wait();
  struct itimerspec g;
  CHECK(timer_gettime(far, &g) == 0, "timer_gettime(far %p): %s", far, strerror(errno));
  double left = (double)g.it_value.tv_sec + (double)g.it_value.tv_nsec / 1e9;
  double passed = now_mono() - armed;
  CHECK(g.it_interval.tv_sec == 0 && g.it_interval.tv_nsec == 0 && left > 0 && left <= 60.0 && left >= 60.0 - passed - 1.0,
        "the far timer has %.3f s left (interval %ld.%09ld) %.3f s after arming 60 s", left, (long)g.it_interval.tv_sec,
        g.it_interval.tv_nsec, passed);
  CHECK(timer_gettime(per, &g) == 0, "timer_gettime(per %p): %s", per, strerror(errno));
  CHECK(g.it_interval.tv_sec == 0 && g.it_interval.tv_nsec == 50000000, "the periodic timer's interval is %ld.%09ld",
        (long)g.it_interval.tv_sec, g.it_interval.tv_nsec);
  int t0 = ticks;
  double w0 = now_mono();
  while (ticks < t0 + 3 && now_mono() - w0 < 15) usleep(10000);
  CHECK(ticks >= t0 + 3, "the periodic timer fired %d times in 15 s after the restart", ticks - t0);
  CHECK(timer_gettime(off, &g) == 0, "timer_gettime(off %p): %s", off, strerror(errno));
  CHECK(g.it_value.tv_sec == 0 && g.it_value.tv_nsec == 0, "the disarmed timer is armed: %ld.%09ld", (long)g.it_value.tv_sec,
        g.it_value.tv_nsec);
  CHECK(timer_getoverrun(far) >= 0 && timer_getoverrun(per) >= 0 && timer_getoverrun(off) >= 0, "timer_getoverrun: %s",
        strerror(errno));
  timer_t extra;
  ev.sigev_signo = SIGUSR2;
  SYS(timer_create(CLOCK_MONOTONIC, &ev, &extra));
  CHECK(extra != far && extra != per && extra != off, "a new timer got id %p, already one of ours", extra);
  CHECK(timer_delete(far) == 0 && timer_delete(per) == 0 && timer_delete(off) == 0 && timer_delete(extra) == 0,
        "timer_delete: %s", strerror(errno));
  CHECK(timer_delete(far) == -1 && errno == EINVAL, "a second timer_delete(far) did not fail with EINVAL");
  pass();
}
