/* epoll_pwait2 (a struct timespec timeout, kernel >= 5.11) with a 700 ms timeout on an epoll set
 * holding a pipe nothing writes to, in a loop until the go line (read by a thread): each call that
 * spans the checkpoint must neither return EINTR, nor time out early (each 0 comes after >= 0.7 s),
 * nor lose its timeout (a lost one never returns). Then a byte written to the pipe is reported with
 * its data word. */
#include "corpus.h"
#include <sys/epoll.h>
#include <sys/syscall.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

int main(void) {
  int p[2];
  SYS(pipe(p));
  int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ull};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
  struct timespec z = {0, 0};
  if (syscall(SYS_epoll_pwait2, ep, &e, 1, &z, NULL, 0) < 0) skip("epoll_pwait2: %s", strerror(errno));
  ready();
  line_thread(NULL);
  int rounds = 0;
  while (!__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST)) {
    struct timespec to = {0, 700000000};
    double t0 = now_mono();
    long n = syscall(SYS_epoll_pwait2, ep, &e, 1, &to, NULL, 0);
    double dt = now_mono() - t0;
    CHECK(n >= 0, "epoll_pwait2 round %d: %s after %.3f s", rounds, strerror(errno), dt);
    CHECK(n == 0, "epoll_pwait2 round %d returned %ld on a pipe nobody writes", rounds, n);
    CHECK(dt >= 0.699, "epoll_pwait2 round %d timed out after %.3f s, asked 0.7 s", rounds, dt);
    rounds++;
  }
  SYS(write(p[1], "x", 1));
  struct timespec to = {30, 0};
  memset(&e, 0, sizeof e);
  long n = syscall(SYS_epoll_pwait2, ep, &e, 1, &to, NULL, 0);
  CHECK(n == 1 && (e.events & EPOLLIN) && e.data.u64 == 0x1122334455667788ull, "epoll_pwait2 after a write: %ld events %#x data %#llx",
        n, e.events, (unsigned long long)e.data.u64);
  pass();
}
