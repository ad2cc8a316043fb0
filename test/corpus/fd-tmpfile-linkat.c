/* An unnamed file (open(".", O_TMPFILE|O_RDWR)) holding 10000 bytes, its offset at 4321: no name
 * anywhere, link count 0. After restart it is still unnamed (st_nlink 0, no new name in the
 * directory), the offset, the status flags (O_TMPFILE among them) and the bytes are the same, and
 * linkat through /proc/self/fd gives it a name at last: the named file has the bytes (an atomic
 * "write, then publish" as databases do). */
#include "corpus.h"
#include <dirent.h>

static int count_entries(void) {
  DIR* d = opendir(".");
  if (!d) fail("opendir(.): %s", strerror(errno));
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

int main(void) {
  SYS(mkdir("tmpdir", 0755));
  SYS(chdir("tmpdir"));
  int fd = open(".", O_TMPFILE | O_RDWR, 0640);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) skip("O_TMPFILE unsupported here: %s", strerror(errno));
  if (fd < 0) fail("open(O_TMPFILE): %s", strerror(errno));
  static char d[10000], r[10000];
  fill_pattern(d, sizeof d, 77);
  write_all(fd, d, sizeof d);
  SYS(lseek(fd, 4321, SEEK_SET));
  struct stat st0;
  SYS(fstat(fd, &st0));
  int fl0 = fcntl(fd, F_GETFL);
  int n0 = count_entries();

  ready_wait();

  struct stat st;
  CHECK(!fstat(fd, &st), "fstat: %s", strerror(errno));
  CHECK(S_ISREG(st.st_mode), "not a regular file any more (mode %o)", st.st_mode);
  CHECK(st.st_nlink == 0, "st_nlink %lu, want 0 (the unnamed file got a name)", (unsigned long)st.st_nlink);
  CHECK(st.st_size == (off_t)sizeof d, "size %lld, want %zu", (long long)st.st_size, sizeof d);
  CHECK((st.st_mode & 07777) == (st0.st_mode & 07777), "mode %o, want %o", st.st_mode & 07777, st0.st_mode & 07777);
  CHECK(count_entries() == n0, "the directory has %d entries, want %d (a name appeared)", count_entries(), n0);
  CHECK(lseek(fd, 0, SEEK_CUR) == 4321, "offset %lld, want 4321", (long long)lseek(fd, 0, SEEK_CUR));
  CHECK(fcntl(fd, F_GETFL) == fl0, "status flags %#o, want %#o", fcntl(fd, F_GETFL), fl0);
  CHECK(pread(fd, r, sizeof r, 0) == (ssize_t)sizeof r && !memcmp(r, d, sizeof d), "contents differ");
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  CHECK(!linkat(AT_FDCWD, path, AT_FDCWD, "published", AT_SYMLINK_FOLLOW), "linkat(%s, published): %s", path, strerror(errno));
  int p = open("published", O_RDONLY);
  CHECK(p >= 0, "open(published): %s", strerror(errno));
  memset(r, 0, sizeof r);
  CHECK(read(p, r, sizeof r) == (ssize_t)sizeof r && !memcmp(r, d, sizeof d), "the published file's contents differ");
  struct stat ps;
  SYS(fstat(p, &ps));
  SYS(fstat(fd, &st));
  CHECK(ps.st_ino == st.st_ino && ps.st_dev == st.st_dev, "the published name is another inode than the descriptor");
  CHECK(st.st_nlink == 1, "st_nlink %lu after linkat, want 1", (unsigned long)st.st_nlink);
  pass();
}
