/* futex_waitv (kernel >= 5.16) on two private 32-bit futex words, no timeout, blocked across the
 * checkpoint; only the go line (read by a thread, which then changes the second word and wakes it)
 * may end it. It must return 1 (the index of the woken word), never EINTR, only after the go line. */
#include "corpus.h"
#include <linux/futex.h>
#include <sys/syscall.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
struct waitv {
  uint64_t val, uaddr;
  uint32_t flags, reserved;
};
#define FUTEX2_SIZE_U32_ 0x02
#define FUTEX2_PRIVATE_ 128

static uint32_t w0, w1;
static void wake(void) {
  __atomic_store_n(&w1, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &w1, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int main(void) {
  struct waitv v[2] = {{0, (uintptr_t)&w0, FUTEX2_SIZE_U32_ | FUTEX2_PRIVATE_, 0},
                       {0, (uintptr_t)&w1, FUTEX2_SIZE_U32_ | FUTEX2_PRIVATE_, 0}};
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  w0 = 1; /* probe: a value mismatch returns EAGAIN at once where the call exists */
  long r = syscall(SYS_futex_waitv, v, 2, 0, &now, CLOCK_MONOTONIC);
  if (r < 0 && errno == ENOSYS) skip("futex_waitv: %s", strerror(errno));
  CHECK(r == -1 && errno == EAGAIN, "probe: futex_waitv %ld (%s), want EAGAIN", r, strerror(errno));
  w0 = 0;
  ready();
  line_thread(wake);
  for (;;) {
    r = syscall(SYS_futex_waitv, v, 2, 0, NULL, 0);
    int e = errno;
    if (r == -1 && e == EAGAIN) break; /* the word changed before we slept */
    CHECK(r >= 0, "futex_waitv: %s", strerror(e));
    CHECK(r == 1, "futex_waitv returned index %ld, only word 1 is woken", r);
    CHECK(__atomic_load_n(&w1, __ATOMIC_SEQ_CST) == 1, "futex_waitv returned 1 but nobody woke it");
    break;
  }
  CHECK(line_seen, "futex_waitv returned before the go line");
  pass();
}
