/* One open file description reached three ways: fd, dup(fd) and a child's inherited copy, offset
 * 500. After restart reading 100 bytes through the dup moves the original's offset to 600, the
 * child reads the next 100 (offset 700 seen by us), and F_SETFL O_APPEND through one shows on the
 * other (status flags are per description, too). */
#include "corpus.h"

int main(void) {
  static char d[4096];
  fill_pattern(d, sizeof d, 101);
  int fd = SYS(open("shared.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(fd, d, sizeof d);
  SYS(lseek(fd, 500, SEEK_SET));
  int dp = SYS(dup(fd));
  int ctl[2], res[2];
  SYS(pipe(ctl));
  SYS(pipe(res));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c, b[100];
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    if (read(fd, b, 100) != 100) _exit(11);
    _exit(memcmp(b, d + 600, 100) ? 12 : 0);
  }
  peer(kid);

  ready_wait();

  CHECK(lseek(fd, 0, SEEK_CUR) == 500 && lseek(dp, 0, SEEK_CUR) == 500, "offsets %lld/%lld, want 500", (long long)lseek(fd, 0, SEEK_CUR),
        (long long)lseek(dp, 0, SEEK_CUR));
  char b[100];
  read_exact(dp, b, 100, "through the dup");
  CHECK(!memcmp(b, d + 500, 100), "bytes at 500 differ");
  CHECK(lseek(fd, 0, SEEK_CUR) == 600, "the dup no longer shares the offset: original at %lld, want 600", (long long)lseek(fd, 0, SEEK_CUR));
  write_all(ctl[1], "g", 1);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child's read failed (status %#x; 12 = it read other bytes)", st);
  CHECK(lseek(fd, 0, SEEK_CUR) == 700, "the child's copy does not share the offset: ours at %lld, want 700", (long long)lseek(fd, 0, SEEK_CUR));
  SYS(fcntl(dp, F_SETFL, fcntl(dp, F_GETFL) | O_APPEND));
  CHECK(fcntl(fd, F_GETFL) & O_APPEND, "O_APPEND set through the dup does not show on the original");
  pass();
}
