/* An epoll instance watching an eventfd with EPOLLEXCLUSIVE (the thundering-herd guard of
 * multi-threaded accept loops) and a pipe with EPOLLRDHUP|EPOLLET. After restart the eventfd's
 * entry is still exclusive (EPOLL_CTL_MOD on it is EINVAL, as for any exclusive entry), it still
 * reports the eventfd becoming readable with its data, and the pipe's entry still reports its
 * writer closing (EPOLLHUP). */
#include "corpus.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>

int main(void) {
  int ev = SYS(eventfd(0, EFD_NONBLOCK));
  int p[2];
  SYS(pipe(p));
  int ep = SYS(epoll_create1(0));
  struct epoll_event e = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = 0xE1};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e)) skip("EPOLLEXCLUSIVE: %s", strerror(errno));
  e = (struct epoll_event){.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u64 = 0xB2};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
  e = (struct epoll_event){.events = EPOLLIN, .data.u64 = 0xE2};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, ev, &e) == 0 || errno != EINVAL) fail("setup: EPOLL_CTL_MOD on an exclusive entry did not fail");

  ready_wait();

  struct epoll_event got[4];
  int n = epoll_wait(ep, got, 4, 0);
  CHECK(n == 0, "%d events ready before anything happened", n);
  e = (struct epoll_event){.events = EPOLLIN, .data.u64 = 0xE3};
  int r = epoll_ctl(ep, EPOLL_CTL_MOD, ev, &e);
  CHECK(r < 0 && errno == EINVAL, "EPOLL_CTL_MOD on the exclusive entry: %s, want EINVAL (EPOLLEXCLUSIVE lost)",
        r ? strerror(errno) : "worked");
  uint64_t one = 1;
  SYS(write(ev, &one, 8));
  n = epoll_wait(ep, got, 4, 2000);
  CHECK(n == 1 && got[0].data.u64 == 0xE1 && (got[0].events & EPOLLIN), "eventfd: %d events (data %#llx), want 0xE1 EPOLLIN", n,
        n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  close(p[1]);
  n = epoll_wait(ep, got, 4, 2000);
  int hup = 0;
  for (int i = 0; i < n; i++)
    if (got[i].data.u64 == 0xB2 && (got[i].events & EPOLLHUP)) hup = 1;
  CHECK(hup, "the pipe's writer closed: no EPOLLHUP on its entry (%d events)", n);
  pass();
}
