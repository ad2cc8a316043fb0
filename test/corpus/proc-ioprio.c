/* ioprio_set(IOPRIO_CLASS_BE, level 6) for the process (a backup job yields the disk): after
 * restart ioprio_get gives the same class and level. */
#include "corpus.h"
#include <sys/syscall.h>

#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_PRIO_VALUE(c, d) (((c) << IOPRIO_CLASS_SHIFT) | (d))

int main(void) {
  int want = IOPRIO_PRIO_VALUE(2 /* BE */, 6);
  if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, want) < 0) skip("ioprio_set: %s", strerror(errno));
  CHECK(syscall(SYS_ioprio_get, 1, 0) == want, "ioprio not set");

  ready_wait();

  long now = syscall(SYS_ioprio_get, 1, 0);
  CHECK(now == want, "ioprio %#lx after restart, want %#x", now, want);
  pass();
}
