/* A descriptor at number 5000 (RLIMIT_NOFILE raised to allow it), on a file read up to offset 42:
 * after restart descriptor 5000 is the same file at the same offset and the soft limit is the same. */
#include "corpus.h"
#include <sys/resource.h>

int main(void) {
  struct rlimit r;
  SYS(getrlimit(RLIMIT_NOFILE, &r));
  if (r.rlim_max < 5001) skip("hard RLIMIT_NOFILE %llu < 5001", (unsigned long long)r.rlim_max);
  r.rlim_cur = 6000 < r.rlim_max ? 6000 : r.rlim_max;
  SYS(setrlimit(RLIMIT_NOFILE, &r));
  int fd = SYS(open("high.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  char d[100];
  fill_pattern(d, sizeof d, 111);
  write_all(fd, d, sizeof d);
  SYS(lseek(fd, 42, SEEK_SET));
  SYS(dup2(fd, 5000));
  close(fd);
  struct stat st0;
  SYS(fstat(5000, &st0));

  ready_wait();

  struct stat st;
  CHECK(!fstat(5000, &st), "descriptor 5000: %s", strerror(errno));
  CHECK(st.st_ino == st0.st_ino && st.st_dev == st0.st_dev, "descriptor 5000 is another file");
  CHECK(lseek(5000, 0, SEEK_CUR) == 42, "offset %lld, want 42", (long long)lseek(5000, 0, SEEK_CUR));
  char b[10];
  read_exact(5000, b, 10, "fd 5000");
  CHECK(!memcmp(b, d + 42, 10), "bytes at 42 differ");
  struct rlimit now;
  SYS(getrlimit(RLIMIT_NOFILE, &now));
  CHECK(now.rlim_cur == r.rlim_cur, "RLIMIT_NOFILE soft %llu, want %llu", (unsigned long long)now.rlim_cur, (unsigned long long)r.rlim_cur);
  pass();
}
