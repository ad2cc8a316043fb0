/* read() on an inotify descriptor watching an empty temporary directory, blocked across the
 * checkpoint; only the go line (read by a thread, which then creates a file there) may end it. read
 * must return an IN_CREATE event for the watch's descriptor with the file's name; never EINTR. */
#include "corpus.h"
#include <sys/inotify.h>

static char dir[64], file[96];
static void rm(void) {
  unlink(file);
  rmdir(dir);
}
static void create(void) {
  int f = open(file, O_CREAT | O_WRONLY, 0600);
  if (f < 0) fail("create %s: %s", file, strerror(errno));
  close(f);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/amber-inotify-XXXXXX");
  if (!mkdtemp(dir)) fail("mkdtemp: %s", strerror(errno));
  snprintf(file, sizeof file, "%s/created-after-go", dir);
  on_exit_cleanup(rm);
  int in = SYS(inotify_init1(0));
  int wd = SYS(inotify_add_watch(in, dir, IN_CREATE | IN_DELETE));
  ready();
  line_thread(create);
  union {
    struct inotify_event e;
    char b[sizeof(struct inotify_event) + 256];
  } u;
  ssize_t n = read(in, &u, sizeof u);
  CHECK(n >= 0, "read(inotify): %s", strerror(errno));
  CHECK(line_seen, "read(inotify) returned an event (mask %#x) before the go line", u.e.mask);
  CHECK(n >= (ssize_t)sizeof u.e && u.e.wd == wd && (u.e.mask & IN_CREATE) && !strcmp(u.e.name, "created-after-go"),
        "inotify event: %zd bytes wd %d (want %d) mask %#x name '%s'", n, u.e.wd, wd, u.e.mask, u.e.len ? u.e.name : "");
  pass();
}
