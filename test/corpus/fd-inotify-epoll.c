/* A blocking inotify instance in an epoll set, five events queued at the checkpoint (files a..e
 * created). After restart: epoll says readable at once, FIONREAD gives the size of exactly those
 * five events, one read of that size returns them in order, then the instance is not readable
 * (no spurious readiness), and a new create is the next event. */
#include "corpus.h"
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

int main(void) {
  SYS(mkdir("w", 0700));
  int fd = SYS(inotify_init1(0));
  int wd = SYS(inotify_add_watch(fd, "w", IN_CREATE));
  int ep = SYS(epoll_create1(0));
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  SYS(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
  const char* names[] = {"a", "b", "c", "d", "e"};
  size_t want = 0;
  for (int i = 0; i < 5; i++) {
    char p[16];
    snprintf(p, sizeof p, "w/%s", names[i]);
    int f = SYS(open(p, O_CREAT | O_WRONLY, 0600));
    close(f);
  }
  int q0 = 0;
  SYS(ioctl(fd, FIONREAD, &q0));
  want = (size_t)q0;

  ready_wait();

  struct epoll_event out;
  CHECK(epoll_wait(ep, &out, 1, 0) == 1 && out.data.fd == fd, "the instance is not readable with five events queued");
  int q = -1;
  SYS(ioctl(fd, FIONREAD, &q));
  CHECK(q == (int)want, "FIONREAD says %d bytes, want %zu", q, want);
  char buf[4096] __attribute__((aligned(8)));
  ssize_t n = read(fd, buf, (size_t)q);
  CHECK(n == (ssize_t)want, "read %zd bytes, want %zu", n, want);
  int i = 0;
  for (ssize_t at = 0; at < n; i++) {
    struct inotify_event* e = (struct inotify_event*)(buf + at);
    CHECK(i < 5 && e->wd == wd && (e->mask & IN_CREATE) && !strcmp(e->name, names[i]), "event %d: wd %d mask %#x name '%s'", i, e->wd,
          e->mask, e->len ? e->name : "");
    at += (ssize_t)(sizeof *e + e->len);
  }
  CHECK(i == 5, "%d events, want 5", i);
  CHECK(epoll_wait(ep, &out, 1, 100) == 0, "still readable after every event was read");
  q = -1;
  SYS(ioctl(fd, FIONREAD, &q));
  CHECK(q == 0, "FIONREAD says %d after every event was read", q);
  int f = SYS(open("w/f", O_CREAT | O_WRONLY, 0600));
  close(f);
  CHECK(epoll_wait(ep, &out, 1, 5000) == 1, "no readiness for a new create");
  n = read(fd, buf, sizeof buf);
  struct inotify_event* e = (struct inotify_event*)buf;
  CHECK(n > 0 && e->wd == wd && !strcmp(e->name, "f"), "the new event: %zd bytes, wd %d name '%s'", n, e->wd, n > 0 && e->len ? e->name : "");
  int wd2 = SYS(inotify_add_watch(fd, ".", IN_DELETE));
  CHECK(wd2 > wd, "a new watch got wd %d", wd2);
  pass();
}
