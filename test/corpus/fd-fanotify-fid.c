/* fanotify as an unprivileged program can use it (kernel >= 5.13): FAN_CLASS_NOTIF|FAN_REPORT_FID
 * with a directory mark for creates, deletes and modifications of its children, and a second
 * instance FAN_REPORT_DFID_NAME (directory handle + name). One event queued unread on each at the
 * checkpoint: after the restart each descriptor is readable (poll), FIONREAD counts exactly the one
 * event, and the event is read with its mask and the file handle name_to_handle_at gives for the
 * file (and the name); a new event after the restart is reported. The instances' fdinfo (flags,
 * marks, masks, handles) is the same after the restart. */
#include "corpus.h"
#include "fanotify.h"
#include <poll.h>
#include <sys/ioctl.h>

struct fh {
  struct file_handle h;
  unsigned char bytes[128];
};

static void handle_of(const char* path, struct fh* out) {
  int mnt;
  out->h.handle_bytes = sizeof out->bytes;
  if (name_to_handle_at(AT_FDCWD, path, &out->h, &mnt, 0) < 0) {
    printf("FAIL: name_to_handle_at %s: %s\n", path, strerror(errno));
    corpus_exit(1);
  }
}

/* The next event of fd (read, after a poll of up to timeout ms, when none is left of the last
 * read): its mask, the handle of its first fid record, and the name of a DFID_NAME record. 0 when
 * none came. One reader per descriptor (at most two descriptors). */
static int next_event(int fd, int timeout, uint64_t* mask, struct fh* h, char* name) {
  static struct { int fd; ssize_t off, len; char buf[4096] __attribute__((aligned(8))); } st[2] = {{.fd = -1}, {.fd = -1}};
  int k = st[0].fd == fd || st[0].fd < 0 ? 0 : 1;
  st[k].fd = fd;
  if (st[k].off >= st[k].len) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout) != 1) return 0;
    st[k].off = 0;
    st[k].len = read(fd, st[k].buf, sizeof st[k].buf);
    if (st[k].len < (ssize_t)FAN_EVENT_METADATA_LEN) return 0;
  }
  char* ev = st[k].buf + st[k].off;
  struct fanotify_event_metadata* e = (struct fanotify_event_metadata*)ev;
  CHECK(e->vers == FANOTIFY_METADATA_VERSION && e->fd == FAN_NOFD && st[k].off + (ssize_t)e->event_len <= st[k].len,
        "event vers %d fd %d len %u at %zd of %zd read", e->vers, e->fd, e->event_len, st[k].off, st[k].len);
  st[k].off += e->event_len;
  *mask = e->mask;
  name[0] = 0;
  memset(h, 0, sizeof *h);
  struct fanotify_event_info_fid* fid = (struct fanotify_event_info_fid*)(ev + e->metadata_len);
  CHECK(e->event_len > e->metadata_len, "event without a fid record");
  struct file_handle* fh = (struct file_handle*)fid->handle;
  CHECK(fh->handle_bytes <= sizeof h->bytes, "handle of %u bytes", fh->handle_bytes);
  memcpy(&h->h, fh, sizeof *fh + fh->handle_bytes);
  if (fid->hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME)
    snprintf(name, 64, "%s", (char*)fh->f_handle + fh->handle_bytes);
  return 1;
}

static int same(const struct fh* a, const struct fh* b) {
  return a->h.handle_bytes == b->h.handle_bytes && a->h.handle_type == b->h.handle_type &&
         !memcmp(a->h.f_handle, b->h.f_handle, a->h.handle_bytes);
}

int main(void) {
  SYS(mkdir("watched", 0700));
  int d = SYS(open("watched/data", O_CREAT | O_WRONLY, 0600));
  int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY);
  if (fd < 0 && (errno == EPERM || errno == EINVAL || errno == ENOSYS)) skip("fanotify with FAN_REPORT_FID is not allowed here");
  CHECK(fd >= 0, "fanotify_init: %s", strerror(errno));
  SYS(fanotify_mark(fd, FAN_MARK_ADD, FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_ONDIR | FAN_EVENT_ON_CHILD, AT_FDCWD, "watched"));
  int nd = SYS(fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_NONBLOCK, O_RDONLY));
  int dir = SYS(open(".", O_RDONLY | O_DIRECTORY));
  SYS(fanotify_mark(nd, FAN_MARK_ADD | FAN_MARK_ONLYDIR, FAN_CREATE | FAN_ONDIR, dir, "watched"));  // relative to a dirfd
  close(dir);
  SYS(write(d, "x", 1));                 /* FAN_MODIFY of watched/data, on fd */
  int f = SYS(open("watched/first", O_CREAT | O_WRONLY, 0600));  /* FAN_CREATE on both */
  close(f);
  /* Queued now: on fd FAN_MODIFY (watched/data's handle) then FAN_CREATE (watched's handle); on
   * nd FAN_CREATE (watched's handle, "first"). */
  char before[1024], before_nd[1024];
  fan_info(fd, before, sizeof before);
  fan_info(nd, before_nd, sizeof before_nd);

  ready_wait();

  char after[1024];
  fan_info(fd, after, sizeof after);
  CHECK(!strcmp(before, after), "fdinfo differs: %s---- after: %s", before, after);
  fan_info(nd, after, sizeof after);
  CHECK(!strcmp(before_nd, after), "fdinfo (DFID_NAME) differs: %s---- after: %s", before_nd, after);
  int q = -1;
  SYS(ioctl(fd, FIONREAD, &q));
  CHECK(q == 2 * FAN_EVENT_METADATA_LEN, "FIONREAD %d, want two events (%d)", q, (int)(2 * FAN_EVENT_METADATA_LEN));

  struct fh h, want, wdir;
  uint64_t mask;
  char name[64];
  handle_of("watched/data", &want);
  handle_of("watched", &wdir);
  CHECK(next_event(fd, 0, &mask, &h, name), "the queued events are gone (or the descriptor is not readable)");
  CHECK(mask == FAN_MODIFY && same(&h, &want), "first queued event mask %#llx, handle %s watched/data's", (unsigned long long)mask,
        same(&h, &want) ? "==" : "!=");
  CHECK(next_event(fd, 0, &mask, &h, name), "the second queued event is gone");
  CHECK(mask == FAN_CREATE && same(&h, &wdir), "second queued event mask %#llx, handle %s watched's", (unsigned long long)mask,
        same(&h, &wdir) ? "==" : "!=");
  char b[4096];
  CHECK(read(fd, b, sizeof b) < 0 && errno == EAGAIN, "more than the queued events");
  SYS(ioctl(fd, FIONREAD, &q));
  CHECK(q == 0, "FIONREAD %d once all is read", q);

  CHECK(next_event(nd, 0, &mask, &h, name), "the DFID_NAME instance's queued event is gone");
  CHECK(mask == FAN_CREATE && same(&h, &wdir) && !strcmp(name, "first"), "DFID_NAME event mask %#llx name '%s'",
        (unsigned long long)mask, name);
  CHECK(read(nd, b, sizeof b) < 0 && errno == EAGAIN, "more than the queued event (DFID_NAME)");

  /* New events after the restart. */
  SYS(write(d, "y", 1));
  CHECK(next_event(fd, 5000, &mask, &h, name), "no event for a new write: the mark is gone");
  CHECK(mask == FAN_MODIFY && same(&h, &want), "new event mask %#llx", (unsigned long long)mask);
  f = SYS(open("watched/second", O_CREAT | O_WRONLY, 0600));
  close(f);
  CHECK(next_event(fd, 5000, &mask, &h, name) && mask == FAN_CREATE, "no FAN_CREATE for a new file");
  CHECK(next_event(nd, 5000, &mask, &h, name) && mask == FAN_CREATE && !strcmp(name, "second"), "no FAN_CREATE 'second' on the DFID_NAME instance");
  SYS(unlink("watched/second"));
  CHECK(next_event(fd, 5000, &mask, &h, name) && mask == FAN_DELETE, "no FAN_DELETE: the mask changed");
  pass();
}
