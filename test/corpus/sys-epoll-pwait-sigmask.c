/* epoll_pwait(-1) on a pipe nothing writes to, with SIGUSR1 blocked in the thread's mask but
 * unblocked by the mask epoll_pwait installs while it waits (as an event loop that takes signals
 * only while idle). Across the checkpoint it must not return (no EINTR, no event); after the go
 * line (read by a thread) a SIGUSR1 to the waiting thread ends it with EINTR, its handler run —
 * which needs the call re-issued with its own mask (with the thread's, SIGUSR1 stays blocked and
 * the wait never ends). */
#include "corpus.h"
#include <sys/epoll.h>

static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1 = 1; }
static pthread_t main_thread;
static void wake(void) { pthread_kill(main_thread, SIGUSR1); }

int main(void) {
  main_thread = pthread_self();
  struct sigaction sa = {.sa_handler = on_usr1};
  SYS(sigaction(SIGUSR1, &sa, NULL));
  sigset_t b, during;
  sigemptyset(&b);
  sigaddset(&b, SIGUSR1);
  SYS(sigprocmask(SIG_BLOCK, &b, NULL));
  SYS(sigprocmask(SIG_BLOCK, NULL, &during));
  sigdelset(&during, SIGUSR1);
  int p[2];
  SYS(pipe(p));
  int ep = SYS(epoll_create1(0));
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 7};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
  ready();
  line_thread(wake);
  struct epoll_event got[4];
  int r = epoll_pwait(ep, got, 4, -1, &during);
  int err = errno;
  CHECK(r < 0, "epoll_pwait returned %d events (nothing was written)", r);
  CHECK(err == EINTR, "epoll_pwait: %s, want EINTR", strerror(err));
  CHECK(usr1, "epoll_pwait returned EINTR without SIGUSR1 (a checkpoint's EINTR leaked)");
  CHECK(__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST), "epoll_pwait ended before the go line");
  sigset_t now;
  SYS(sigprocmask(SIG_BLOCK, NULL, &now));
  CHECK(sigismember(&now, SIGUSR1), "SIGUSR1 is no longer blocked after epoll_pwait (its mask stayed)");
  pass();
}
