/* Nested epoll: an outer epoll watching an inner epoll (EPOLLIN) that watches a pipe with data
 * waiting and an eventfd without. After restart the outer set reports the inner one ready with
 * its u64, the inner one reports exactly the pipe, and once the pipe is drained and the eventfd
 * written the inner one reports the eventfd (both sets still watch what they watched). */
#include "corpus.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>

int main(void) {
  int p[2];
  SYS(pipe2(p, O_NONBLOCK));
  int ev = SYS(eventfd(0, EFD_NONBLOCK));
  int in = SYS(epoll_create1(0)), out = SYS(epoll_create1(0));
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 11};
  SYS(epoll_ctl(in, EPOLL_CTL_ADD, p[0], &e));
  e.data.u64 = 22;
  SYS(epoll_ctl(in, EPOLL_CTL_ADD, ev, &e));
  e.data.u64 = 33;
  SYS(epoll_ctl(out, EPOLL_CTL_ADD, in, &e));
  write_all(p[1], "abc", 3);

  ready_wait();

  struct epoll_event got[4];
  int n = epoll_wait(out, got, 4, 1000);
  CHECK(n == 1 && got[0].data.u64 == 33, "the outer set reported %d events (u64 %llu), want the inner set (33)", n,
        n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  n = epoll_wait(in, got, 4, 0);
  CHECK(n == 1 && got[0].data.u64 == 11, "the inner set reported %d events, want the pipe (11)", n);
  char b[8];
  CHECK(read(p[0], b, sizeof b) == 3, "the pipe's 3 bytes");
  CHECK(epoll_wait(out, got, 4, 0) == 0, "the outer set is still ready with nothing in the inner one");
  uint64_t one = 1;
  CHECK(write(ev, &one, 8) == 8, "eventfd write");
  n = epoll_wait(out, got, 4, 1000);
  CHECK(n == 1 && got[0].data.u64 == 33, "the outer set did not see the eventfd through the inner one");
  n = epoll_wait(in, got, 4, 0);
  CHECK(n == 1 && got[0].data.u64 == 22, "the inner set reported %d events, want the eventfd (22)", n);
  pass();
}
