/* Reaped children's resource use: a child burnt 200 ms of CPU and was reaped before the
 * checkpoint; another is reaped after. After restart getrusage(RUSAGE_CHILDREN) and times()'s
 * tms_cutime+tms_cstime read at least what they read before (never backwards: a shell's `times`,
 * a build tool's accounting), and grow by the second child's CPU once it is reaped. */
#include "corpus.h"
#include <sys/resource.h>
#include <sys/times.h>

static double burn_child(double secs) {
  pid_t k = fork();
  if (k < 0) fail("fork: %s", strerror(errno));
  if (k == 0) {
    struct timespec t;
    volatile unsigned long x = 0;
    double start;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    start = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
    for (;;) {
      for (int i = 0; i < 100000; i++) x += (unsigned long)i;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
      if ((double)t.tv_sec + (double)t.tv_nsec / 1e9 - start >= secs) _exit(0);
    }
  }
  struct rusage ru;
  int st;
  if (wait4(k, &st, 0, &ru) != k) fail("wait4: %s", strerror(errno));
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static double children_cpu(void) {
  struct rusage ru;
  SYS(getrusage(RUSAGE_CHILDREN, &ru));
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}

static double times_children(void) {
  struct tms t;
  times(&t);
  return (double)(t.tms_cutime + t.tms_cstime) / (double)sysconf(_SC_CLK_TCK);
}

int main(void) {
  double first = burn_child(0.2);
  double r0 = children_cpu(), t0 = times_children();
  if (r0 < first - 0.001) fail("setup: RUSAGE_CHILDREN %.3f s, less than the child's %.3f s", r0, first);

  ready_wait();

  double r1 = children_cpu(), t1 = times_children();
  CHECK(r1 >= r0, "RUSAGE_CHILDREN went back: %.3f s before the checkpoint, %.3f s after", r0, r1);
  CHECK(t1 >= t0, "times() children's CPU went back: %.2f s before the checkpoint, %.2f s after", t0, t1);
  double second = burn_child(0.1);
  double r2 = children_cpu(), t2 = times_children();
  CHECK(r2 >= r1 + second - 0.02, "RUSAGE_CHILDREN %.3f s after reaping a child of %.3f s (was %.3f s)", r2, second, r1);
  CHECK(t2 >= t1, "times() children's CPU went back after a reap: %.2f -> %.2f s", t1, t2);
  pass();
}
