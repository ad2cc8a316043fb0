/* A file opened by its first name, hard-linked to a second name, and the first name unlinked: the
 * descriptor's path (/proc/self/fd) now says "(deleted)" but the file is alive under the second
 * name (st_nlink 1). After restart the descriptor is still that file: same inode as the second
 * name, st_nlink 1, its offset, and a write through it shows in the file read by the second name
 * (it is not a private copy of a "deleted" file). */
#include "corpus.h"

int main(void) {
  int fd = SYS(open("first.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(fd, "0123456789", 10);
  SYS(link("first.dat", "second.dat"));
  SYS(unlink("first.dat"));
  SYS(lseek(fd, 4, SEEK_SET));
  struct stat s0;
  SYS(stat("second.dat", &s0));

  ready_wait();

  struct stat sf, sn;
  SYS(fstat(fd, &sf));
  CHECK(!stat("second.dat", &sn), "second.dat: %s", strerror(errno));
  CHECK(sn.st_ino == s0.st_ino, "second.dat is another file now (inode %lu, was %lu)", (unsigned long)sn.st_ino, (unsigned long)s0.st_ino);
  CHECK(sf.st_ino == sn.st_ino && sf.st_dev == sn.st_dev, "the descriptor is inode %lu, second.dat is %lu: not the same file",
        (unsigned long)sf.st_ino, (unsigned long)sn.st_ino);
  CHECK(sf.st_nlink == 1, "the descriptor's file has %lu links, want 1", (unsigned long)sf.st_nlink);
  CHECK(access("first.dat", F_OK) < 0, "first.dat exists again");
  CHECK(lseek(fd, 0, SEEK_CUR) == 4, "offset %ld, want 4", (long)lseek(fd, 0, SEEK_CUR));
  write_all(fd, "AB", 2);
  int o = SYS(open("second.dat", O_RDONLY));
  char b[16] = {0};
  ssize_t n = read(o, b, sizeof b);
  CHECK(n == 10 && !memcmp(b, "0123AB6789", 10), "second.dat reads '%.*s', want '0123AB6789' (our write did not reach it)", (int)(n > 0 ? n : 0), b);
  pass();
}
