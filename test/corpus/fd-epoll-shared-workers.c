/* One epoll instance held three ways: the supervisor's descriptor, a dup of it in the supervisor,
 * and a worker's copy (inherited over fork, then moved to another number). At the checkpoint the
 * worker is blocked in epoll_wait on it, and an edge-triggered pipe has an event nobody collected.
 * After restart: the worker's wait returns that one event (once: the supervisor does not see it
 * again), an entry added through the dup is reported through the original, and the worker's
 * EPOLL_CTL_DEL is seen by the supervisor — one interest list, as before. */
#include "corpus.h"
#include <sys/epoll.h>

enum { LEVEL = 1, EDGE = 2, VIA_DUP = 3 };

int main(void) {
  int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
  int lv[2], et[2], du[2], go[2], rep[2];
  SYS(pipe(lv));
  SYS(pipe(et));
  SYS(pipe(du));
  SYS(pipe(go));
  SYS(pipe(rep));
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = LEVEL};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, lv[0], &e));
  e = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = EDGE};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, et[0], &e));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    /* The worker: its copy at another number, the original closed. */
    int mine = dup2(ep, 40);
    if (mine != 40) _exit(2);
    close(ep);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    struct epoll_event got[4];
    int n;
    do n = epoll_wait(mine, got, 4, -1);
    while (n == 0);
    char r = n == 1 && got[0].data.u64 == EDGE ? 'e' : n < 0 ? 'x' : 'n';
    write_all(rep[1], &r, 1);
    /* Then remove the level-triggered pipe: the supervisor must stop seeing it. */
    if (read(go[0], &c, 1) != 1) _exit(2);
    r = epoll_ctl(mine, EPOLL_CTL_DEL, lv[0], NULL) == 0 ? 'd' : 'x';
    write_all(rep[1], &r, 1);
    for (;;) pause();
  }
  peer(kid);
  int ep2 = SYS(dup(ep));
  /* The worker must be in its epoll_wait (nothing ready yet) before the event comes. */
  write_all(go[1], "g", 1);
  for (int i = 0; i < 2000; i++) {
    char path[64], buf[256] = "";
    snprintf(path, sizeof path, "/proc/%d/wchan", (int)kid);
    FILE* f = fopen(path, "r");
    if (f) {
      if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
      fclose(f);
    }
    if (strstr(buf, "epoll")) break; /* do_epoll_wait, ep_poll */
    usleep(5000);
  }
  write_all(et[1], "x", 1); /* one edge: the worker's wait takes it (or it is pending at checkpoint) */

  ready_wait();

  char r;
  read_exact(rep[0], &r, 1, "worker");
  CHECK(r == 'e', "the worker's epoll_wait did not return the one edge-triggered event (%c)", r);
  struct epoll_event got[4];
  int n = epoll_wait(ep, got, 4, 0);
  CHECK(n == 0, "%d events after the worker took the edge (first data %llu): want none", n,
        n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  e = (struct epoll_event){.events = EPOLLIN, .data.u64 = VIA_DUP};
  SYS(epoll_ctl(ep2, EPOLL_CTL_ADD, du[0], &e));
  write_all(du[1], "d", 1);
  n = epoll_wait(ep, got, 4, 2000);
  CHECK(n == 1 && got[0].data.u64 == VIA_DUP, "%d events through the original after an add through its dup (first data %llu)", n,
        n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  write_all(lv[1], "l", 1);
  n = epoll_wait(ep, got, 4, 2000);
  CHECK(n == 2, "%d events with both level-triggered pipes readable, want 2", n);
  write_all(go[1], "g", 1);
  read_exact(rep[0], &r, 1, "worker");
  CHECK(r == 'd', "the worker's EPOLL_CTL_DEL failed");
  n = epoll_wait(ep, got, 4, 0);
  CHECK(n == 1 && got[0].data.u64 == VIA_DUP, "%d events after the worker removed the level pipe (first data %llu): want only the dup's",
        n, n > 0 ? (unsigned long long)got[0].data.u64 : 0ull);
  pass();
}
