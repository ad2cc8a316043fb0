/* A raw FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline 60 s away (what glibc's
 * timed waits issue), blocked across the checkpoint; only the go line (read by a thread, which then
 * sets the word and wakes it) may end it: 0 or EAGAIN, never EINTR or ETIMEDOUT, only after the go
 * line. */
#include "corpus.h"
#include <linux/futex.h>
#include <sys/syscall.h>

static int word;
static void wake(void) {
  __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, FUTEX_BITSET_MATCH_ANY);
}

int main(void) {
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_sec += 60;
  ready();
  line_thread(wake);
  while (!__atomic_load_n(&word, __ATOMIC_SEQ_CST)) {
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &dl, NULL, FUTEX_BITSET_MATCH_ANY);
    int e = errno;
    if (r == -1 && e == EAGAIN) break;
    CHECK(r == 0, "FUTEX_WAIT_BITSET returned %s", strerror(e));
    CHECK(__atomic_load_n(&word, __ATOMIC_SEQ_CST), "FUTEX_WAIT_BITSET returned 0 but nobody woke it");
  }
  CHECK(line_seen, "the wait ended before the go line");
  pass();
}
