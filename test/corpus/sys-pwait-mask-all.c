/* Waits that take a signal mask for their duration, each given every signal (an event loop that
 * takes its signals from a signalfd): ppoll in one thread, pselect in another, epoll_pwait in the
 * main thread, all on one pipe that only the go line makes readable. Each must be checkpointed
 * where it waits, not return early nor with EINTR, and report the pipe readable after the go. */
#include "corpus.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

static int p[2];
static volatile int ppoll_r = -2, pselect_r = -2;
static sigset_t all;

static void feed(void) {
  if (write(p[1], "g", 1) != 1) fail("write: %s", strerror(errno));
}

static void* in_ppoll(void* u) {
  (void)u;
  struct pollfd pfd = {p[0], POLLIN, 0};
  int r = ppoll(&pfd, 1, NULL, &all);
  ppoll_r = r == 1 && (pfd.revents & POLLIN) ? 1 : r < 0 ? -errno : 0;
  return NULL;
}

static void* in_pselect(void* u) {
  (void)u;
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  int r = pselect(p[0] + 1, &rd, NULL, NULL, NULL, &all);
  pselect_r = r == 1 && FD_ISSET(p[0], &rd) ? 1 : r < 0 ? -errno : 0;
  return NULL;
}

int main(void) {
  SYS(pipe(p));
  sigfillset(&all);
  int ep = SYS(epoll_create1(0));
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 77};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  pthread_t a, b;
  CHECK(pthread_create(&a, NULL, in_ppoll, NULL) == 0, "pthread_create");
  CHECK(pthread_create(&b, NULL, in_pselect, NULL) == 0, "pthread_create");
  ready();
  line_thread(feed);
  struct epoll_event out;
  int n = epoll_pwait(ep, &out, 1, -1, &all);
  CHECK(n == 1 && out.data.u64 == 77, "epoll_pwait: %d (%s)", n, n < 0 ? strerror(errno) : "");
  CHECK(line_seen, "epoll_pwait returned before the go line");
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  CHECK(ppoll_r == 1, "ppoll: %d", ppoll_r);
  CHECK(pselect_r == 1, "pselect: %d", pselect_r);
  pass();
}
