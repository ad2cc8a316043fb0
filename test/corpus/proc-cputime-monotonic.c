/* CPU time never goes backwards for a program (benchmarks, profilers and schedulers subtract two
 * readings): 200 ms of CPU burnt before the checkpoint; after restart CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID, getrusage(RUSAGE_SELF) and times() all read at least what they read
 * before. */
#include "corpus.h"
#include <sys/resource.h>
#include <sys/times.h>

static double ts(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static double ru(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}
static double tm(void) {
  struct tms t;
  times(&t);
  return (double)(t.tms_utime + t.tms_stime) / (double)sysconf(_SC_CLK_TCK);
}

int main(void) {
  double t0 = ts(CLOCK_PROCESS_CPUTIME_ID);
  while (ts(CLOCK_PROCESS_CPUTIME_ID) - t0 < 0.2) {
  }
  double p = ts(CLOCK_PROCESS_CPUTIME_ID), th = ts(CLOCK_THREAD_CPUTIME_ID), r = ru(), t = tm();

  ready_wait();

  double p2 = ts(CLOCK_PROCESS_CPUTIME_ID), th2 = ts(CLOCK_THREAD_CPUTIME_ID), r2 = ru(), t2 = tm();
  CHECK(p2 >= p, "CLOCK_PROCESS_CPUTIME_ID went back from %.3f to %.3f s", p, p2);
  CHECK(th2 >= th, "CLOCK_THREAD_CPUTIME_ID went back from %.3f to %.3f s", th, th2);
  CHECK(r2 >= r - 0.011, "getrusage CPU time went back from %.3f to %.3f s", r, r2);
  CHECK(t2 >= t - 0.011, "times() CPU time went back from %.2f to %.2f s", t, t2);
  pass();
}
