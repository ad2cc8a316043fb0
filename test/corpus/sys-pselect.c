/* pselect on stdin with a 60 s timeout and a signal mask that unblocks SIGUSR1 only during the
 * call (SIGUSR1 is blocked otherwise): across the checkpoint it must neither return EINTR nor time
 * out; it returns 1 with stdin ready when the go line comes, and the mask afterwards is the one
 * from before the call. */
#include "corpus.h"
#include <sys/select.h>

int main(void) {
  sigset_t blk, during, after;
  sigemptyset(&blk);
  sigaddset(&blk, SIGUSR1);
  SYS(sigprocmask(SIG_BLOCK, &blk, NULL));
  sigemptyset(&during);
  ready();
  double t0 = now_mono();
  fd_set r;
  FD_ZERO(&r);
  FD_SET(0, &r);
  struct timespec to = {60, 0};
  int n = pselect(1, &r, NULL, NULL, &to, &during);
  double dt = now_mono() - t0;
  CHECK(n >= 0, "pselect: %s after %.3f s", strerror(errno), dt);
  CHECK(n == 1 && FD_ISSET(0, &r), "pselect returned %d after %.3f s (stdin %s)", n, dt, FD_ISSET(0, &r) ? "set" : "not set");
  SYS(sigprocmask(SIG_BLOCK, NULL, &after));
  CHECK(sigismember(&after, SIGUSR1), "SIGUSR1 is no longer blocked after pselect");
  read_line();
  pass();
}
