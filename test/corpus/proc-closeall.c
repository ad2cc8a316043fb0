/* A daemon-style process closes every descriptor except 0-2 and one it opened itself (then moved
 * to 3): after restart (and a live checkpoint in between) its descriptor table is exactly 0, 1, 2
 * and 3, and 3 is its file at the same offset. Whatever a checkpointer keeps open inside the
 * process must not show up, and losing it must not stop the checkpoint. */
#include "corpus.h"
#include <dirent.h>

static int list(int* out, int max) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) fail("opendir /proc/self/fd: %s", strerror(errno));
  int n = 0, self = dirfd(d);
  struct dirent* e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd != self && n < max) out[n++] = fd;
  }
  closedir(d);
  return n;
}

int main(void) {
  int mine = SYS(open("mine.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(mine, "0123456789", 10);
  SYS(lseek(mine, 4, SEEK_SET));
  int fds[1024], n = list(fds, 1024);
  for (int i = 0; i < n; i++)
    if (fds[i] > 2 && fds[i] != mine) close(fds[i]);
  if (mine != 3) {
    SYS(dup2(mine, 3));
    close(mine);
  }

  ready_wait();

  n = list(fds, 1024);
  char seen[256] = "";
  for (int i = 0; i < n; i++) {
    char l[256];
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fds[i]);
    ssize_t k = readlink(p, l, sizeof l - 1);
    l[k > 0 ? k : 0] = 0;
    size_t at = strlen(seen);
    snprintf(seen + at, sizeof seen - at, " %d=%.40s", fds[i], l);
  }
  int ok = n == 4;
  for (int i = 0; i < n; i++) ok &= fds[i] >= 0 && fds[i] <= 3;
  CHECK(ok, "descriptors after restart:%s; want exactly 0 1 2 3", seen);
  CHECK(lseek(3, 0, SEEK_CUR) == 4, "descriptor 3 offset %lld, want 4", (long long)lseek(3, 0, SEEK_CUR));
  char b[6] = {0};
  CHECK(read(3, b, 5) == 5 && !memcmp(b, "45678", 5), "descriptor 3 reads '%s'", b);
  pass();
}
