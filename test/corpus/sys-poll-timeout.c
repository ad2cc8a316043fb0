/* poll with a 60 s timeout (not -1) on a pipe nothing writes to until the go line (read by a
 * thread, which then writes a byte): across the checkpoint poll must neither return EINTR nor 0
 * (a timeout) early; it returns 1 with POLLIN on the pipe after the go line. Same for epoll_wait
 * with a 60 s timeout on an epoll set holding the same pipe, in a second thread. */
#include "corpus.h"
#include <poll.h>
#include <sys/epoll.h>

static int p[2], ep;
static volatile int ep_res = -2, ep_err, ep_after_line;
static void wake(void) {
  if (write(p[1], "w", 1) != 1) fail("write");
}
static void* ep_thread(void* u) {
  (void)u;
  struct epoll_event e;
  int n = epoll_wait(ep, &e, 1, 60000);
  ep_err = errno;
  ep_after_line = line_seen;
  ep_res = n;
  return NULL;
}

int main(void) {
  SYS(pipe(p));
  ep = SYS(epoll_create1(0));
  struct epoll_event e = {.events = EPOLLIN, .data.u32 = 5};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
  pthread_t t;
  if (pthread_create(&t, NULL, ep_thread, NULL)) fail("pthread_create");
  ready();
  line_thread(wake);
  struct pollfd pf = {.fd = p[0], .events = POLLIN};
  double t0 = now_mono();
  int n = poll(&pf, 1, 60000);
  double dt = now_mono() - t0;
  CHECK(n >= 0, "poll: %s after %.3f s", strerror(errno), dt);
  CHECK(n == 1 && (pf.revents & POLLIN), "poll returned %d (revents %#x) after %.3f s", n, pf.revents, dt);
  CHECK(line_seen, "poll returned before the go line");
  pthread_join(t, NULL);
  CHECK(ep_res == 1, "epoll_wait returned %d (%s)", ep_res, ep_res < 0 ? strerror(ep_err) : "timeout");
  CHECK(ep_after_line, "epoll_wait returned before the go line");
  pass();
}
