/* epoll_wait(-1) on an epoll set holding stdin: the checkpoint interrupts it; the program must
 * see neither EINTR nor a spurious event: epoll_wait returns exactly one event, stdin's, when the
 * go line arrives. */
#include "corpus.h"
#include <sys/epoll.h>

int main(void) {
  int ep = SYS(epoll_create1(0));
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0xabcdef};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e));
  ready();
  struct epoll_event got[4];
  int n = epoll_wait(ep, got, 4, -1);
  CHECK(n >= 0, "epoll_wait(-1): %s", strerror(errno));
  CHECK(n == 1 && got[0].data.u64 == 0xabcdef && (got[0].events & EPOLLIN), "epoll_wait returned %d events before the line", n);
  read_line();
  pass();
}
