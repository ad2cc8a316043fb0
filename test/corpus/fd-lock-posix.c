/* A POSIX record lock (F_SETLK, write lock on bytes 100..199): after restart a second process
 * still cannot take it (F_SETLK → EAGAIN/EACCES), F_GETLK from it reports our lock with our pid
 * and the same range, and the rest of the file is free. */
#include "corpus.h"

static pid_t me;

static int probe(void* fdp) {
  int fd = open("lock.dat", O_RDWR);
  (void)fdp;
  if (fd < 0) return 10;
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 150, .l_len = 10};
  if (fcntl(fd, F_SETLK, &l) == 0) return 11; /* got it: the lock is gone */
  if (errno != EAGAIN && errno != EACCES) return 12;
  struct flock g = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  if (fcntl(fd, F_GETLK, &g)) return 13;
  if (g.l_type != F_WRLCK || g.l_start != 100 || g.l_len != 100) return 14;
  if (g.l_pid != me) return 15;
  struct flock f = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 300, .l_len = 10};
  if (fcntl(fd, F_SETLK, &f)) return 16; /* outside the range: free */
  return 0;
}

int main(void) {
  me = getpid();
  int fd = SYS(open("lock.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(fd, "x", 1);
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 100};
  SYS(fcntl(fd, F_SETLK, &l));
  int rc = in_child(probe, NULL);
  if (rc) fail("setup: probe %d", rc);

  ready_wait();

  rc = in_child(probe, NULL);
  CHECK(rc != 11, "a second process took the write lock: the lock is gone");
  CHECK(rc != 14, "F_GETLK from a second process reports another range or type");
  CHECK(rc != 15, "F_GETLK reports another pid than the holder's getpid()");
  CHECK(rc == 0, "lock probe failed with code %d", rc);
  pass();
}
