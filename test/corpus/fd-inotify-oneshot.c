/* inotify watches whose flags matter: an IN_ONESHOT watch on file A (IN_MODIFY) not yet fired, an
 * IN_ONESHOT watch on file B already fired and so removed, and a watch on directory D built in two
 * calls (IN_CREATE, then IN_DELETE|IN_MASK_ADD, so it reports both). After restart: writing B
 * reports nothing (the removed watch stays removed, a new watch on B gets a fresh wd); writing A
 * reports one IN_MODIFY then IN_IGNORED, and a second write nothing; D reports a create and a
 * delete on its one wd. */
#include "corpus.h"
#include <poll.h>
#include <sys/inotify.h>

static int in;

/* Read all events available within ms (0: only those queued now) into a summary. */
static int drain(int ms, int* wds, uint32_t* masks, int max) {
  int n = 0;
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    struct pollfd p = {.fd = in, .events = POLLIN};
    int r = poll(&p, 1, n ? 0 : ms);
    if (r < 0) fail("poll: %s", strerror(errno));
    if (r == 0) return n;
    ssize_t len = read(in, buf, sizeof buf);
    if (len < 0) fail("read(inotify): %s", strerror(errno));
    for (char* c = buf; c < buf + len;) {
      struct inotify_event* e = (struct inotify_event*)c;
      if (n < max) wds[n] = e->wd, masks[n] = e->mask;
      n++;
      c += sizeof *e + e->len;
    }
  }
}

static void touch(const char* path, const char* what) {
  int fd = open(path, O_WRONLY | O_APPEND);
  if (fd < 0) fail("open(%s): %s", path, strerror(errno));
  write_all(fd, what, strlen(what));
  close(fd);
}

int main(void) {
  in = SYS(inotify_init1(IN_NONBLOCK));
  SYS(mkdir("D", 0755));
  close(SYS(open("A", O_CREAT | O_WRONLY, 0644)));
  close(SYS(open("B", O_CREAT | O_WRONLY, 0644)));
  int wa = SYS(inotify_add_watch(in, "A", IN_MODIFY | IN_ONESHOT));
  int wb = SYS(inotify_add_watch(in, "B", IN_MODIFY | IN_ONESHOT));
  int wd = SYS(inotify_add_watch(in, "D", IN_CREATE));
  int wd2 = SYS(inotify_add_watch(in, "D", IN_DELETE | IN_MASK_ADD));
  if (wd2 != wd) fail("setup: IN_MASK_ADD gave wd %d, want %d", wd2, wd);
  touch("B", "b");
  int wds[16];
  uint32_t m[16];
  int n = drain(2000, wds, m, 16);
  if (n != 2 || wds[0] != wb || !(m[0] & IN_MODIFY) || !(m[1] & IN_IGNORED))
    fail("setup: B's one-shot watch gave %d events (want IN_MODIFY then IN_IGNORED)", n);

  ready_wait();

  touch("B", "b");
  n = drain(0, wds, m, 16);
  CHECK(n == 0, "writing B (its one-shot watch fired before the checkpoint) gave %d events (wd %d mask %#x)", n,
        n ? wds[0] : 0, n ? m[0] : 0);
  touch("A", "a");
  n = drain(3000, wds, m, 16);
  if (n == 1) n += drain(1000, wds + 1, m + 1, 15);
  CHECK(n == 2, "writing A gave %d events, want IN_MODIFY then IN_IGNORED (first: wd %d mask %#x)", n, n ? wds[0] : 0,
        n ? m[0] : 0);
  CHECK(wds[0] == wa && (m[0] & IN_MODIFY), "first event wd %d mask %#x, want wd %d IN_MODIFY", wds[0], m[0], wa);
  CHECK(wds[1] == wa && (m[1] & IN_IGNORED), "second event wd %d mask %#x, want wd %d IN_IGNORED (IN_ONESHOT lost)",
        wds[1], m[1], wa);
  touch("A", "a");
  n = drain(0, wds, m, 16);
  CHECK(n == 0, "a second write of A gave %d events (the one-shot watch was not removed)", n);
  close(SYS(open("D/x", O_CREAT | O_WRONLY, 0644)));
  SYS(unlink("D/x"));
  n = drain(3000, wds, m, 16);
  if (n == 1) n += drain(1000, wds + 1, m + 1, 15);
  CHECK(n == 2, "create+delete in D gave %d events, want 2 (IN_MASK_ADD lost?)", n);
  CHECK(wds[0] == wd && (m[0] & IN_CREATE), "D's first event wd %d mask %#x, want wd %d IN_CREATE", wds[0], m[0], wd);
  CHECK(wds[1] == wd && (m[1] & IN_DELETE), "D's second event wd %d mask %#x, want wd %d IN_DELETE", wds[1], m[1], wd);
  int nb = inotify_add_watch(in, "B", IN_MODIFY);
  CHECK(nb >= 0, "a new watch on B: %s", strerror(errno));
  CHECK(nb != wa && nb != wd && nb != wb, "the new watch on B got wd %d, one in use or reused (A %d D %d old B %d)", nb, wa, wd, wb);
  pass();
}
