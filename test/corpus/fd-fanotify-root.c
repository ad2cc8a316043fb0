/* fanotify as only root can use it: FAN_CLASS_NOTIF without FAN_REPORT_FID (each event carries an
 * open descriptor of the file), an inode mark with FAN_CLOSE_WRITE on a directory's children and a
 * legacy ignore mask that survives modification on one file; a second instance with a mount mark,
 * a third (FAN_REPORT_DFID_NAME) with a filesystem mark for creates. After the restart: the same
 * fdinfo (flags, marks, masks) on all three; closing a written file reports FAN_CLOSE_WRITE with a
 * descriptor of that file; the ignored file reports nothing; a create is seen by the filesystem
 * mark. */
#include "corpus.h"
#include "fanotify.h"
#include <poll.h>
#include <sys/ioctl.h>

int main(void) {
  if (geteuid() != 0) skip("fanotify without FAN_REPORT_FID needs CAP_SYS_ADMIN");
  SYS(mkdir("watched", 0700));
  int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
  if (fd < 0 && (errno == EPERM || errno == ENOSYS)) skip("fanotify_init: %s", strerror(errno));
  CHECK(fd >= 0, "fanotify_init: %s", strerror(errno));
  SYS(fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, AT_FDCWD, "watched"));
  int i = SYS(open("watched/ignored", O_CREAT | O_WRONLY, 0600));
  close(i);
  SYS(fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_CLOSE_WRITE, AT_FDCWD,
                    "watched/ignored"));
  char b[4096] __attribute__((aligned(8)));
  while (read(fd, b, sizeof b) > 0) {  /* the create's close: drop it and the descriptors it gave */
    struct fanotify_event_metadata* e = (struct fanotify_event_metadata*)b;
    if (e->fd >= 0) close(e->fd);
  }
  char before[1024];
  fan_info(fd, before, sizeof before);
  /* Every close after a write on this mount, and every create on this filesystem (other programs'
   * too: only their marks are compared, and the create looked for by name). */
  int mfd = SYS(fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY));
  SYS(fanotify_mark(mfd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, AT_FDCWD, "."));
  int sfd = SYS(fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_NONBLOCK, O_RDONLY));
  SYS(fanotify_mark(sfd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CREATE, AT_FDCWD, "."));
  char before_m[1024], before_s[1024];
  fan_info(mfd, before_m, sizeof before_m);
  fan_info(sfd, before_s, sizeof before_s);

  ready_wait();

  char after[1024];
  fan_info(fd, after, sizeof after);
  CHECK(!strcmp(before, after), "fdinfo differs: %s---- after: %s", before, after);
  fan_info(mfd, after, sizeof after);
  CHECK(!strcmp(before_m, after), "fdinfo (mount mark) differs: %s---- after: %s", before_m, after);
  fan_info(sfd, after, sizeof after);
  CHECK(!strcmp(before_s, after), "fdinfo (filesystem mark) differs: %s---- after: %s", before_s, after);
  i = SYS(open("watched/ignored", O_WRONLY | O_APPEND));
  SYS(write(i, "x", 1));
  close(i);
  int f = SYS(open("watched/new", O_CREAT | O_WRONLY, 0600));
  SYS(write(f, "data", 4));
  close(f);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  CHECK(poll(&p, 1, 5000) == 1, "no event after the restart: the mark is gone");
  ssize_t n = read(fd, b, sizeof b);
  CHECK(n >= (ssize_t)FAN_EVENT_METADATA_LEN, "read %zd: %s", n, strerror(errno));
  struct fanotify_event_metadata* e = (struct fanotify_event_metadata*)b;
  CHECK(e->mask == FAN_CLOSE_WRITE && e->fd >= 0, "event mask %#llx fd %d", (unsigned long long)e->mask, e->fd);
  struct stat a, w;
  SYS(fstat(e->fd, &a));
  SYS(stat("watched/new", &w));
  CHECK(a.st_ino == w.st_ino && a.st_dev == w.st_dev, "the event's descriptor is not watched/new (the ignore mask is lost?)");
  CHECK(e->event_len == n, "more than one event: the ignored file reported");
  close(e->fd);
  /* The filesystem mark: the create of watched/new among whatever else was created meanwhile. */
  int seen = 0;
  for (int k = 0; k < 1000 && !seen; k++) {
    struct pollfd sp = {.fd = sfd, .events = POLLIN};
    if (poll(&sp, 1, 5000) != 1) break;
    n = read(sfd, b, sizeof b);
    for (char* at = b; n > 0 && at < b + n; at += ((struct fanotify_event_metadata*)at)->event_len) {
      struct fanotify_event_metadata* se = (struct fanotify_event_metadata*)at;
      if (se->event_len < FAN_EVENT_METADATA_LEN) break;
      struct fanotify_event_info_fid* fid = (struct fanotify_event_info_fid*)(at + se->metadata_len);
      struct file_handle* fh = (struct file_handle*)fid->handle;
      if (fid->hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME && !strcmp((char*)fh->f_handle + fh->handle_bytes, "new"))
        seen = 1;
    }
  }
  CHECK(seen, "the filesystem mark reported no create of watched/new");
  pass();
}
