/* A memfd (MFD_ALLOW_SEALING) with 20000 bytes and seals F_SEAL_SHRINK|F_SEAL_GROW: after restart
 * the contents and size are the same, F_GET_SEALS reads back the same set, shrinking and growing
 * still fail with EPERM, and it is still a memfd (its /proc/self/fd link names "memfd:corpus"). */
#include "corpus.h"
#include <sys/mman.h>

int main(void) {
  int fd = memfd_create("corpus", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd < 0) fail("memfd_create: %s", strerror(errno));
  char d[20000];
  fill_pattern(d, sizeof d, 21);
  write_all(fd, d, sizeof d);
  SYS(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
  int seals = fcntl(fd, F_GET_SEALS);
  SYS(lseek(fd, 123, SEEK_SET));

  ready_wait();

  CHECK(fcntl(fd, F_GET_SEALS) == seals, "seals %#x, want %#x", fcntl(fd, F_GET_SEALS), seals);
  struct stat st;
  SYS(fstat(fd, &st));
  CHECK(st.st_size == (off_t)sizeof d, "size %lld, want %zu", (long long)st.st_size, sizeof d);
  char r[sizeof d];
  CHECK(pread(fd, r, sizeof r, 0) == (ssize_t)sizeof r && !memcmp(r, d, sizeof d), "contents differ");
  CHECK(lseek(fd, 0, SEEK_CUR) == 123, "offset %lld, want 123", (long long)lseek(fd, 0, SEEK_CUR));
  CHECK(ftruncate(fd, 100) < 0 && errno == EPERM, "shrinking was not refused with EPERM");
  CHECK(ftruncate(fd, 40000) < 0 && errno == EPERM, "growing was not refused with EPERM");
  CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "FD_CLOEXEC is gone");
  char link[64], want[] = "/memfd:corpus (deleted)";
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof link - 1);
  CHECK(n > 0, "readlink %s: %s", path, strerror(errno));
  link[n] = 0;
  CHECK(!strcmp(link, want), "the descriptor is '%s', want '%s'", link, want);
  pass();
}
