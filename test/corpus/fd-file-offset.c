/* A regular file opened O_RDWR with its offset in the middle, plus a second descriptor opened
 * O_WRONLY|O_APPEND on the same file: after restart the offset is where it was (the next read
 * returns the next bytes), the flags read back identical, and an appended write lands at the end. */
#include "corpus.h"

int main(void) {
  char data[8192];
  fill_pattern(data, sizeof data, 1);
  int fd = SYS(open("offset.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(fd, data, sizeof data);
  SYS(lseek(fd, 3001, SEEK_SET));
  int ap = SYS(open("offset.dat", O_WRONLY | O_APPEND));
  int fl = SYS(fcntl(fd, F_GETFL)), apfl = SYS(fcntl(ap, F_GETFL));

  ready_wait();

  off_t off = lseek(fd, 0, SEEK_CUR);
  CHECK(off == 3001, "offset is %lld, want 3001", (long long)off);
  CHECK(fcntl(fd, F_GETFL) == fl, "O_RDWR descriptor flags %#x, want %#x", fcntl(fd, F_GETFL), fl);
  CHECK(fcntl(ap, F_GETFL) == apfl, "O_APPEND descriptor flags %#x, want %#x", fcntl(ap, F_GETFL), apfl);
  char buf[100];
  read_exact(fd, buf, sizeof buf, "read at the offset");
  CHECK(!memcmp(buf, data + 3001, sizeof buf), "bytes at the offset differ");
  SYS(lseek(ap, 0, SEEK_SET)); /* O_APPEND ignores the offset */
  write_all(ap, "TAIL", 4);
  struct stat st;
  SYS(fstat(fd, &st));
  CHECK(st.st_size == 8192 + 4, "size after an O_APPEND write is %lld, want 8196", (long long)st.st_size);
  CHECK(pread(fd, buf, 4, 8192) == 4 && !memcmp(buf, "TAIL", 4), "the O_APPEND write did not land at the end");
  CHECK(lseek(fd, 0, SEEK_CUR) == 3101, "offset after reading 100 bytes is %lld", (long long)lseek(fd, 0, SEEK_CUR));
  pass();
}
