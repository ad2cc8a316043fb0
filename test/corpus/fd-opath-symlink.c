/* A symlink opened with O_PATH|O_NOFOLLOW: the descriptor refers to the link itself. After
 * restart F_GETFL still has O_PATH, fstatat(fd, "", AT_EMPTY_PATH) says symlink with the same
 * inode, readlinkat(fd, "") returns the target, and read() fails with EBADF (O_PATH). */
#include "corpus.h"

int main(void) {
  int t = SYS(open("target.txt", O_CREAT | O_WRONLY, 0600));
  close(t);
  SYS(symlink("target.txt", "link"));
  int fd = SYS(open("link", O_PATH | O_NOFOLLOW));
  struct stat lst;
  SYS(lstat("link", &lst));

  ready_wait();

  CHECK(fcntl(fd, F_GETFL) & O_PATH, "O_PATH is gone (flags %#x)", fcntl(fd, F_GETFL));
  struct stat st;
  CHECK(!fstatat(fd, "", &st, AT_EMPTY_PATH), "fstatat(AT_EMPTY_PATH): %s", strerror(errno));
  CHECK(S_ISLNK(st.st_mode), "the descriptor is no longer the symlink (mode %o)", st.st_mode);
  CHECK(st.st_ino == lst.st_ino, "inode %lu, want %lu", (unsigned long)st.st_ino, (unsigned long)lst.st_ino);
  char b[64];
  ssize_t n = readlinkat(fd, "", b, sizeof b - 1);
  CHECK(n == 10 && !memcmp(b, "target.txt", 10), "readlinkat(fd, \"\"): %zd", n);
  char c;
  CHECK(read(fd, &c, 1) < 0 && errno == EBADF, "read on an O_PATH descriptor did not fail with EBADF");
  pass();
}
