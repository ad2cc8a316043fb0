/* One epoll instance shared by fork (a supervisor and its worker both hold it), with a pipe
 * registered. After restart it is still one instance: a pipe the child registers on it is
 * reported to us, and the pipe registered before is still reported when written. */
#include "corpus.h"
#include <sys/epoll.h>

int main(void) {
  int ep = SYS(epoll_create1(0));
  int p1[2], p2[2], q[2], a[2];
  SYS(pipe(p1));
  SYS(pipe(p2));
  SYS(pipe(q));
  SYS(pipe(a));
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, p1[0], &e));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    if (read(q[0], &c, 1) != 1) _exit(2);
    struct epoll_event f = {.events = EPOLLIN, .data.u64 = 2};
    char r = epoll_ctl(ep, EPOLL_CTL_ADD, p2[0], &f) == 0 ? 'y' : 'n';
    write_all(a[1], &r, 1);
    for (;;) pause();
  }
  peer(kid);

  ready_wait();

  write_all(q[1], "g", 1);
  char r;
  read_exact(a[0], &r, 1, "child");
  CHECK(r == 'y', "the child could not add to the shared epoll");
  write_all(p2[1], "x", 1);
  struct epoll_event got[4];
  int n = epoll_wait(ep, got, 4, 2000);
  CHECK(n == 1 && got[0].data.u64 == 2, "%d events (first data %llu), want the pipe the child registered (2): not one instance", n,
        n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  char b;
  SYS(read(p2[0], &b, 1));
  write_all(p1[1], "y", 1);
  n = epoll_wait(ep, got, 4, 2000);
  CHECK(n == 1 && got[0].data.u64 == 1, "%d events, want the pipe registered before the checkpoint (1)", n);
  pass();
}
