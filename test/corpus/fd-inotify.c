/* An inotify instance watching a directory for IN_CREATE|IN_DELETE, one event queued (a file
 * created before the checkpoint): after restart the queued event is read with the same wd and
 * name, and a new create fires a new event on the same wd. */
#include "corpus.h"
#include <poll.h>
#include <sys/inotify.h>

static int next_event(int fd, int* wd, uint32_t* mask, char* name, int timeout) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, timeout) != 1) return -1;
  char buf[4096] __attribute__((aligned(8)));
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < (ssize_t)sizeof(struct inotify_event)) return -1;
  struct inotify_event* e = (struct inotify_event*)buf;
  *wd = e->wd;
  *mask = e->mask;
  snprintf(name, 64, "%.63s", e->len ? e->name : "");
  return (int)n;
}

int main(void) {
  SYS(mkdir("watched", 0700));
  int fd = SYS(inotify_init1(IN_NONBLOCK));
  int wd = SYS(inotify_add_watch(fd, "watched", IN_CREATE | IN_DELETE));
  int f = SYS(open("watched/first", O_CREAT | O_WRONLY, 0600));
  close(f);

  ready_wait();

  int ewd;
  uint32_t mask;
  char name[64];
  int n = next_event(fd, &ewd, &mask, name, 0);
  CHECK(n > 0, "the queued event is gone");
  CHECK(ewd == wd && (mask & IN_CREATE) && !strcmp(name, "first"), "queued event wd %d mask %#x name '%s', want wd %d IN_CREATE 'first'",
        ewd, mask, name, wd);
  char b;
  CHECK(read(fd, &b, 1) < 0 && errno == EAGAIN, "more than the one queued event");
  f = SYS(open("watched/second", O_CREAT | O_WRONLY, 0600));
  close(f);
  n = next_event(fd, &ewd, &mask, name, 5000);
  CHECK(n > 0, "no event for a new create: the watch is gone");
  CHECK(ewd == wd && (mask & IN_CREATE) && !strcmp(name, "second"), "new event wd %d mask %#x name '%s'", ewd, mask, name);
  SYS(unlink("watched/second"));
  n = next_event(fd, &ewd, &mask, name, 5000);
  CHECK(n > 0 && (mask & IN_DELETE), "no IN_DELETE event: the watch mask changed");
  pass();
}
