/* An open file description lock (F_OFD_SETLK, write lock on the whole file): after restart another
 * description (a second process's own open) cannot take it (EAGAIN), F_OFD_GETLK reports it
 * (l_pid -1), and our own description can still convert it to a read lock. */
#include "corpus.h"

static int probe(void* unused) {
  (void)unused;
  int fd = open("ofd.dat", O_RDWR);
  if (fd < 0) return 10;
  struct flock l = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_OFD_SETLK, &l) == 0) return 11;
  if (errno != EAGAIN) return 12;
  struct flock g = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_OFD_GETLK, &g)) return 13;
  if (g.l_type != F_WRLCK || g.l_pid != -1) return 14;
  return 0;
}

int main(void) {
  int fd = SYS(open("ofd.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(fd, "data", 4);
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_OFD_SETLK, &l)) {
    if (errno == EINVAL) skip("F_OFD_SETLK not supported");
    fail("F_OFD_SETLK: %s", strerror(errno));
  }
  int rc = in_child(probe, NULL);
  if (rc) fail("setup: probe %d", rc);

  ready_wait();

  rc = in_child(probe, NULL);
  CHECK(rc != 11, "another description took the OFD lock: the lock is gone");
  CHECK(rc != 14, "F_OFD_GETLK does not report the write lock");
  CHECK(rc == 0, "lock probe failed with code %d", rc);
  struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
  CHECK(!fcntl(fd, F_OFD_SETLK, &r), "converting our own lock to a read lock: %s", strerror(errno));
  pass();
}
