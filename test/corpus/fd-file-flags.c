/* Status flags a program opened a file with: O_APPEND|O_SYNC, O_DSYNC, O_NOATIME, O_RDONLY|
 * O_NONBLOCK, and a descriptor whose position is past the end of the file (lseek beyond EOF, as a
 * sparse writer does). After restart F_GETFL reads each back the same, the offset is still past
 * EOF, and a write there leaves a hole of zeros (the file size becomes offset + 1). */
#include "corpus.h"

int main(void) {
  int base = SYS(open("flags.dat", O_RDWR | O_CREAT | O_TRUNC, 0644));
  write_all(base, "0123456789", 10);
  int fds[4];
  fds[0] = SYS(open("flags.dat", O_WRONLY | O_APPEND | O_SYNC));
  fds[1] = SYS(open("flags.dat", O_WRONLY | O_DSYNC));
  fds[2] = open("flags.dat", O_RDONLY | O_NOATIME);
  if (fds[2] < 0) fds[2] = SYS(open("flags.dat", O_RDONLY));
  fds[3] = SYS(open("flags.dat", O_RDONLY | O_NONBLOCK));
  int fl0[4];
  for (int i = 0; i < 4; i++) fl0[i] = fcntl(fds[i], F_GETFL);
  SYS(lseek(base, 5000, SEEK_SET));

  ready_wait();

  for (int i = 0; i < 4; i++) {
    int fl = fcntl(fds[i], F_GETFL);
    CHECK(fl == fl0[i], "descriptor %d: F_GETFL %#o, was %#o", i, fl, fl0[i]);
  }
  CHECK(lseek(base, 0, SEEK_CUR) == 5000, "the offset past EOF is %ld, want 5000", (long)lseek(base, 0, SEEK_CUR));
  struct stat st;
  SYS(fstat(base, &st));
  CHECK(st.st_size == 10, "the file is %ld bytes, want 10 (nothing written yet)", (long)st.st_size);
  write_all(base, "X", 1);
  SYS(fstat(base, &st));
  CHECK(st.st_size == 5001, "after the write the file is %ld bytes, want 5001", (long)st.st_size);
  char b[5001];
  SYS(pread(base, b, sizeof b, 0));
  CHECK(!memcmp(b, "0123456789", 10) && b[5000] == 'X', "the file's bytes differ");
  for (int i = 10; i < 5000; i++) CHECK(b[i] == 0, "byte %d of the hole is %d", i, b[i]);
  write_all(fds[0], "A", 1); /* O_APPEND: at the end */
  SYS(pread(base, b, 1, 5001));
  CHECK(b[0] == 'A', "the O_APPEND descriptor did not write at the end");
  pass();
}
