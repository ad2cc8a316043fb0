/* A ghost FIFO: opened by path (a reader and a writer in this process), 3000 bytes in flight, then
 * its path unlinked (a daemon removing its control FIFO while it still holds it). After restart
 * both descriptors are still one FIFO (fstat: S_ISFIFO, same inode on both ends), the path is still
 * absent (nothing made it again), the 3000 bytes come back once, and what the writer writes now
 * reaches the reader. */
#include "corpus.h"

int main(void) {
  SYS(mkfifo("ghost.fifo", 0600));
  int r = SYS(open("ghost.fifo", O_RDONLY | O_NONBLOCK));
  int w = SYS(open("ghost.fifo", O_WRONLY));
  static char b[3000];
  fill_pattern(b, sizeof b, 301);
  write_all(w, b, sizeof b);
  SYS(unlink("ghost.fifo"));
  struct stat s0;
  SYS(fstat(r, &s0));

  ready_wait();

  struct stat sr, sw;
  SYS(fstat(r, &sr));
  SYS(fstat(w, &sw));
  CHECK(S_ISFIFO(sr.st_mode) && S_ISFIFO(sw.st_mode), "not FIFOs any more (modes %o %o)", sr.st_mode, sw.st_mode);
  CHECK(sr.st_ino == sw.st_ino && sr.st_dev == sw.st_dev, "the two ends are different FIFOs now (inodes %lu, %lu)",
        (unsigned long)sr.st_ino, (unsigned long)sw.st_ino);
  CHECK(sr.st_nlink == 0, "the FIFO has %lu links, want 0 (unlinked)", (unsigned long)sr.st_nlink);
  CHECK(access("ghost.fifo", F_OK) < 0 && errno == ENOENT, "the path ghost.fifo exists again");
  int fl = fcntl(r, F_GETFL);
  CHECK((fl & O_ACCMODE) == O_RDONLY && (fl & O_NONBLOCK), "reader flags %#x, want O_RDONLY|O_NONBLOCK", fl);
  static char got[3000];
  read_exact(r, got, sizeof got, "bytes in flight");
  int at = check_pattern(got, sizeof got, 301);
  CHECK(at < 0, "bytes in flight differ at %d", at);
  expect_empty(r, "after the bytes in flight");
  write_all(w, "after", 5);
  char a[5];
  read_exact(r, a, 5, "a new write");
  CHECK(!memcmp(a, "after", 5), "the new write reads back '%.5s'", a);
  pass();
}
