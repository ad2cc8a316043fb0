/* ITIMER_VIRTUAL (user CPU time, 100 s, interval 7 s) and ITIMER_PROF (CPU time, 200 s, interval
 * 9 s), armed after some CPU was burnt (profilers arm ITIMER_PROF once at start). After restart
 * getitimer reports the same intervals and what was left of each value: never more than before
 * the checkpoint, never less than that minus the CPU burnt since (not re-armed from scratch, not
 * disarmed); a short ITIMER_PROF then still raises SIGPROF once it runs out. */
#include "corpus.h"
#include <sys/time.h>

static volatile sig_atomic_t profs;
static void on_prof(int s) { (void)s; profs++; }

static double tv(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }
static double cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static void burn(double s) {
  double t0 = cpu();
  while (cpu() - t0 < s) {
  }
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_prof, .sa_flags = SA_RESTART};
  SYS(sigaction(SIGPROF, &sa, NULL));
  SYS(sigaction(SIGVTALRM, &sa, NULL));
  burn(0.05);
  struct itimerval v = {{7, 0}, {100, 0}}, p = {{9, 0}, {200, 0}};
  SYS(setitimer(ITIMER_VIRTUAL, &v, NULL));
  SYS(setitimer(ITIMER_PROF, &p, NULL));
  burn(0.05);
  struct itimerval v0, p0;
  SYS(getitimer(ITIMER_VIRTUAL, &v0));
  SYS(getitimer(ITIMER_PROF, &p0));
  double c0 = cpu();

  ready_wait();

  struct itimerval v1, p1;
  SYS(getitimer(ITIMER_VIRTUAL, &v1));
  SYS(getitimer(ITIMER_PROF, &p1));
  double used = cpu() - c0 + 0.02;
  /* CPU time is accounted in scheduler ticks (4 ms here): one tick of slack upwards. */
  const double tick = 0.0101;
  CHECK(v1.it_interval.tv_sec == 7 && v1.it_interval.tv_usec == 0, "ITIMER_VIRTUAL interval %.6f, want 7", tv(v1.it_interval));
  CHECK(p1.it_interval.tv_sec == 9 && p1.it_interval.tv_usec == 0, "ITIMER_PROF interval %.6f, want 9", tv(p1.it_interval));
  CHECK(tv(v1.it_value) > 0 && tv(v1.it_value) <= tv(v0.it_value) + tick && tv(v1.it_value) >= tv(v0.it_value) - used,
        "ITIMER_VIRTUAL value %.6f, was %.6f before (CPU since: %.3f s)", tv(v1.it_value), tv(v0.it_value), used);
  CHECK(tv(p1.it_value) > 0 && tv(p1.it_value) <= tv(p0.it_value) + tick && tv(p1.it_value) >= tv(p0.it_value) - used,
        "ITIMER_PROF value %.6f, was %.6f before (CPU since: %.3f s)", tv(p1.it_value), tv(p0.it_value), used);
  struct itimerval s = {{0, 0}, {0, 30000}};
  SYS(setitimer(ITIMER_PROF, &s, NULL));
  double t0 = cpu();
  while (!profs && cpu() - t0 < 2) {
  }
  CHECK(profs == 1, "%d SIGPROF after 30 ms of CPU, want 1", (int)profs);
  pass();
}
