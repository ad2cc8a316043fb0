/* A file unlinked while open: 64 KiB of data, a 1 MiB hole, then 4 KiB more (size 1 MiB + 68 KiB),
 * offset in the middle. After restart: same size, same bytes, the hole still reads as zeros and
 * SEEK_DATA/SEEK_HOLE find it (where the filesystem reports holes), st_nlink is 0 and the path is
 * still absent, and writes go to the same (deleted) file. */
#include "corpus.h"

#define A (64 * 1024)
#define HOLE (1024 * 1024)
#define B 4096

int main(void) {
  int fd = SYS(open("deleted.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  static char a[A], b[B], z[HOLE];
  fill_pattern(a, A, 11);
  fill_pattern(b, B, 12);
  write_all(fd, a, A);
  SYS(pwrite(fd, b, B, A + HOLE));
  SYS(unlink("deleted.dat"));
  SYS(lseek(fd, 1000, SEEK_SET));
  /* does this filesystem report the hole? (tmpfs and ext4 do) */
  off_t h0 = lseek(fd, 0, SEEK_HOLE);
  int holes = h0 == A;
  SYS(lseek(fd, 1000, SEEK_SET));

  ready_wait();

  struct stat st;
  SYS(fstat(fd, &st));
  CHECK(st.st_size == A + HOLE + B, "size %lld, want %d", (long long)st.st_size, A + HOLE + B);
  CHECK(st.st_nlink == 0, "st_nlink %lu, want 0 (the file is deleted)", (unsigned long)st.st_nlink);
  CHECK(access("deleted.dat", F_OK) < 0, "deleted.dat exists again at its path");
  CHECK(lseek(fd, 0, SEEK_CUR) == 1000, "offset %lld, want 1000", (long long)lseek(fd, 0, SEEK_CUR));
  static char r[A + HOLE + B];
  CHECK(pread(fd, r, sizeof r, 0) == (ssize_t)sizeof r, "short pread");
  CHECK(!memcmp(r, a, A), "first 64 KiB differ");
  CHECK(!memcmp(r + A, z, HOLE), "the hole is not zeros");
  CHECK(!memcmp(r + A + HOLE, b, B), "the last 4 KiB differ");
  if (holes) {
    off_t h = lseek(fd, 0, SEEK_HOLE), d = lseek(fd, A, SEEK_DATA);
    CHECK(h == A, "SEEK_HOLE from 0 gives %lld, want %d (the hole was filled)", (long long)h, A);
    CHECK(d == A + HOLE, "SEEK_DATA from the hole gives %lld, want %d", (long long)d, A + HOLE);
    CHECK(st.st_blocks * 512 < A + HOLE, "%lld bytes allocated: the hole is allocated", (long long)st.st_blocks * 512);
  }
  SYS(pwrite(fd, "X", 1, 0));
  CHECK(pread(fd, r, 1, 0) == 1 && r[0] == 'X', "write to the deleted file not read back");
  CHECK(access("deleted.dat", F_OK) < 0, "deleted.dat reappeared after a write");
  pass();
}
