/* ppoll with a 1 s timeout on a pipe nothing writes to, in a loop until the go line (read by a
 * thread): every call that spans the checkpoint must neither return EINTR, nor time out early (each
 * 0 return comes after >= 1 s), nor lose its timeout (a lost one never returns: the run hangs).
 * The signal mask ppoll installs is the one in force while it blocks: a SIGUSR1 sent to ourselves
 * (blocked outside, unblocked by ppoll's mask) after the go line ends it with EINTR, as it must. */
#include "corpus.h"
#include <poll.h>

static int p[2];
static volatile int usr1;
static void on_usr1(int s) { (void)s; usr1 = 1; }

int main(void) {
  SYS(pipe(p));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t blk, inmask;
  sigemptyset(&blk);
  sigaddset(&blk, SIGUSR1);
  sigprocmask(SIG_BLOCK, &blk, NULL);
  sigemptyset(&inmask);
  ready();
  line_thread(NULL);
  int rounds = 0;
  while (!__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST)) {
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    struct timespec to = {1, 0};
    double t0 = now_mono();
    int n = ppoll(&pf, 1, &to, &inmask);
    double dt = now_mono() - t0;
    CHECK(n >= 0, "ppoll round %d: %s after %.3f s", rounds, strerror(errno), dt);
    CHECK(n == 0, "ppoll round %d returned %d (revents %#x) on a pipe nobody writes", rounds, n, pf.revents);
    CHECK(dt >= 0.999, "ppoll round %d timed out after %.3f s, asked 1 s", rounds, dt);
    rounds++;
  }
  CHECK(!usr1, "SIGUSR1 ran its handler while blocked");
  kill(getpid(), SIGUSR1);
  struct pollfd pf = {.fd = p[0], .events = POLLIN};
  struct timespec to = {30, 0};
  int n = ppoll(&pf, 1, &to, &inmask);
  CHECK(n == -1 && errno == EINTR && usr1, "ppoll with SIGUSR1 pending and unblocked by its mask: %d (%s) handler %d", n,
        strerror(errno), usr1);
  pass();
}
