/* A fanotify mark removed before the checkpoint (FAN_MARK_REMOVE of its whole mask) is not made
 * again by the restart, and a mark whose mask was only narrowed keeps the narrower mask: after the
 * restart a modification in the removed directory makes no event, a create in the narrowed one
 * none either, while its remaining event (FAN_DELETE) and the kept mark still report. */
#include "corpus.h"
#include "fanotify.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

static uint64_t next_mask(int fd, int timeout) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, timeout) != 1) return 0;
  char buf[4096] __attribute__((aligned(8)));
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < (ssize_t)FAN_EVENT_METADATA_LEN) return 0;
  struct fanotify_event_metadata* e = (struct fanotify_event_metadata*)buf;
  CHECK(e->event_len == n, "more than one event at once (%zd bytes)", n);
  return e->mask;
}

static void touch(const char* p) {
  int f = SYS(open(p, O_CREAT | O_WRONLY, 0600));
  close(f);
}

int main(void) {
  SYS(mkdir("kept", 0700));
  SYS(mkdir("gone", 0700));
  SYS(mkdir("narrow", 0700));
  int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK, O_RDONLY);
  if (fd < 0 && (errno == EPERM || errno == EINVAL || errno == ENOSYS)) skip("fanotify with FAN_REPORT_FID is not allowed here");
  CHECK(fd >= 0, "fanotify_init: %s", strerror(errno));
  SYS(fanotify_mark(fd, FAN_MARK_ADD, FAN_CREATE, AT_FDCWD, "kept"));
  SYS(fanotify_mark(fd, FAN_MARK_ADD, FAN_CREATE | FAN_DELETE, AT_FDCWD, "gone"));
  SYS(fanotify_mark(fd, FAN_MARK_ADD, FAN_CREATE | FAN_DELETE, AT_FDCWD, "narrow"));
  SYS(fanotify_mark(fd, FAN_MARK_REMOVE, FAN_CREATE | FAN_DELETE, AT_FDCWD, "gone"));
  /* Through syscall(2) as well: programs call it so when libc lacks the wrapper. */
  SYS(syscall(SYS_fanotify_mark, fd, FAN_MARK_REMOVE, (uint64_t)FAN_CREATE, AT_FDCWD, "narrow"));
  char before[1024];
  fan_info(fd, before, sizeof before);
  CHECK(fan_marks(before) == 2, "%d marks before the checkpoint, want 2: %s", fan_marks(before), before);

  ready_wait();

  char after[1024];
  fan_info(fd, after, sizeof after);
  CHECK(!strcmp(before, after), "fdinfo differs: %s---- after: %s", before, after);
  touch("gone/a");
  touch("narrow/a");
  touch("kept/a");
  uint64_t m = next_mask(fd, 5000);
  CHECK(m == FAN_CREATE, "first event after the restart %#llx, want FAN_CREATE in kept (the removed mark or the "
        "narrowed mask came back?)", (unsigned long long)m);
  SYS(unlink("narrow/a"));
  m = next_mask(fd, 5000);
  CHECK(m == FAN_DELETE, "no FAN_DELETE in narrow (%#llx): the narrowed mark is gone", (unsigned long long)m);
  SYS(unlink("gone/a"));
  char b[4096];
  CHECK(read(fd, b, sizeof b) < 0 && errno == EAGAIN, "an event from the removed mark");
  pass();
}
