/* An epoll instance with three pipes: level-triggered (data waiting), edge-triggered (data waiting,
 * its edge already reported), one-shot (already fired, so disarmed). After restart epoll_wait(0)
 * reports exactly the level pipe with its data (u64); new data on the edge pipe fires once; new
 * data on the one-shot pipe does not fire until EPOLL_CTL_MOD re-arms it. */
#include "corpus.h"
#include <sys/epoll.h>

int main(void) {
  int lv[2], ed[2], os[2];
  SYS(pipe(lv));
  SYS(pipe(ed));
  SYS(pipe(os));
  int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0x1111};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, lv[0], &e));
  e = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 0x2222};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, ed[0], &e));
  e = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x3333};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, os[0], &e));
  write_all(lv[1], "L", 1);
  write_all(ed[1], "E", 1);
  write_all(os[1], "O", 1);
  struct epoll_event got[8];
  int n = SYS(epoll_wait(ep, got, 8, 0));
  if (n != 3) fail("setup: %d events, want 3", n);
  /* edge reported, one-shot fired; only level stays ready */
  n = SYS(epoll_wait(ep, got, 8, 0));
  if (n != 1 || got[0].data.u64 != 0x1111) fail("setup: %d events after the first wait", n);

  ready_wait();

  n = epoll_wait(ep, got, 8, 0);
  CHECK(n >= 0, "epoll_wait: %s", strerror(errno));
  CHECK(n == 1, "%d events ready, want only the level-triggered pipe", n);
  CHECK(got[0].data.u64 == 0x1111 && (got[0].events & EPOLLIN), "event data %#llx events %#x, want 0x1111 EPOLLIN",
        (unsigned long long)got[0].data.u64, got[0].events);
  CHECK(fcntl(ep, F_GETFD) & FD_CLOEXEC, "EPOLL_CLOEXEC is gone");
  write_all(ed[1], "e", 1);
  n = epoll_wait(ep, got, 8, 1000);
  int edge = 0, lvl = 0;
  for (int i = 0; i < n; i++) edge += got[i].data.u64 == 0x2222, lvl += got[i].data.u64 == 0x1111;
  CHECK(edge == 1 && lvl == 1 && n == 2, "after new data on the edge pipe: %d events (edge %d level %d)", n, edge, lvl);
  n = epoll_wait(ep, got, 8, 0);
  CHECK(n == 1 && got[0].data.u64 == 0x1111, "the edge pipe fired again without new data (%d events)", n);
  write_all(os[1], "o", 1);
  n = epoll_wait(ep, got, 8, 0);
  CHECK(n == 1 && got[0].data.u64 == 0x1111, "the disarmed one-shot pipe fired (%d events)", n);
  e = (struct epoll_event){.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 0x4444};
  CHECK(!epoll_ctl(ep, EPOLL_CTL_MOD, os[0], &e), "EPOLL_CTL_MOD on the one-shot pipe: %s (not registered?)", strerror(errno));
  n = epoll_wait(ep, got, 8, 0);
  int re = 0;
  for (int i = 0; i < n; i++) re += got[i].data.u64 == 0x4444;
  CHECK(re == 1, "the re-armed one-shot pipe did not fire (%d events)", n);
  char b[4];
  CHECK(read(lv[0], b, 4) == 1 && b[0] == 'L', "level pipe data");
  CHECK(read(ed[0], b, 4) == 2 && !memcmp(b, "Ee", 2), "edge pipe data");
  CHECK(read(os[0], b, 4) == 2 && !memcmp(b, "Oo", 2), "one-shot pipe data");
  pass();
}
