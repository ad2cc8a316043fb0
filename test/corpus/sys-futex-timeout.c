/* A raw FUTEX_WAIT with a 60 s timeout (what lock-free queues and Go-like runtimes do); only the
 * go line (read by a thread, which then sets the word and FUTEX_WAKEs) may end it. The wait must
 * return 0 (woken) or EAGAIN (the word already changed), never EINTR or ETIMEDOUT, and only after
 * the go line. */
#include "corpus.h"
#include <linux/futex.h>
#include <sys/syscall.h>

static int word;
static void wake(void) {
  __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

int main(void) {
  ready();
  line_thread(wake);
  while (!__atomic_load_n(&word, __ATOMIC_SEQ_CST)) {
    struct timespec to = {60, 0};
    double t0 = now_mono();
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0);
    int e = errno;
    if (r == -1 && e == EAGAIN) break;
    CHECK(r == 0, "FUTEX_WAIT returned %s after %.3f s", strerror(e), now_mono() - t0);
    CHECK(__atomic_load_n(&word, __ATOMIC_SEQ_CST), "FUTEX_WAIT returned 0 but nobody woke it (spurious wakeup after %.3f s)", now_mono() - t0);
  }
  CHECK(line_seen, "the wait ended before the go line");
  pass();
}
