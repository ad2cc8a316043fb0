/* A perf event counting this process's task clock (self-profiling programs, JIT profilers): after
 * restart the descriptor still counts (the value grows while we spin). */
#include "corpus.h"
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

int main(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.type = PERF_TYPE_SOFTWARE;
  a.config = PERF_COUNT_SW_TASK_CLOCK;
  a.exclude_kernel = 1;
  int fd = (int)syscall(__NR_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) skip("perf_event_open: %s", strerror(errno));

  ready_wait();

  uint64_t v0 = 0, v1 = 0;
  CHECK(read(fd, &v0, 8) == 8, "read of the perf event after restart: %s", strerror(errno));
  double t0 = now_mono();
  while (now_mono() - t0 < 0.05) {
  }
  CHECK(read(fd, &v1, 8) == 8 && v1 > v0, "the perf event does not count after restart (%llu then %llu)", (unsigned long long)v0,
        (unsigned long long)v1);
  pass();
}
