/* A directory descriptor, half read with getdents64, and openat relative to it: after restart
 * openat(dirfd, name) opens the right file, the descriptor is the same directory (inode), and
 * getdents64 continues where it stopped: the rest of the entries, none repeated, none lost. */
#include "corpus.h"
#include <dirent.h>
#include <sys/syscall.h>

struct d64 { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };

static int names(int fd, char out[][32], int max, size_t bufsz, int once) {
  char buf[4096];
  int n = 0;
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, bufsz);
    if (r < 0) fail("getdents64: %s", strerror(errno));
    if (r == 0) break;
    for (long i = 0; i < r;) {
      struct d64* d = (struct d64*)(buf + i);
      if (n < max) snprintf(out[n++], 32, "%s", d->name);
      i += d->reclen;
    }
    if (once) break;
  }
  return n;
}

int main(void) {
  SYS(mkdir("dir", 0700));
  for (int i = 0; i < 40; i++) {
    char p[64];
    snprintf(p, sizeof p, "dir/file-%02d-with-a-longer-name", i);
    int f = SYS(open(p, O_CREAT | O_WRONLY, 0600));
    write_all(f, p, strlen(p));
    close(f);
  }
  static char all[64][32], first[64][32], rest[64][32];
  int a = SYS(open("dir", O_RDONLY | O_DIRECTORY));
  int nall = names(a, all, 64, sizeof(char[4096]), 0);
  close(a);
  int dfd = SYS(open("dir", O_RDONLY | O_DIRECTORY));
  int nfirst = names(dfd, first, 64, 512, 1); /* a small buffer: only part of the directory */
  if (nfirst >= nall) fail("setup: the first getdents64 read the whole directory");
  struct stat before;
  SYS(fstat(dfd, &before));

  ready_wait();

  struct stat st;
  SYS(fstat(dfd, &st));
  CHECK(S_ISDIR(st.st_mode) && st.st_ino == before.st_ino, "dirfd is not the same directory (ino %lu, was %lu)",
        (unsigned long)st.st_ino, (unsigned long)before.st_ino);
  int f = openat(dfd, "file-07-with-a-longer-name", O_RDONLY);
  CHECK(f >= 0, "openat(dirfd): %s", strerror(errno));
  char b[64] = {0};
  CHECK(read(f, b, sizeof b) > 0 && !strcmp(b, "dir/file-07-with-a-longer-name"), "openat opened '%s'", b);
  int nrest = names(dfd, rest, 64, 4096, 0);
  CHECK(nfirst + nrest == nall, "getdents64 after restart gave %d more entries, want %d (of %d; %d read before)", nrest,
        nall - nfirst, nall, nfirst);
  for (int i = 0; i < nrest; i++)
    CHECK(!strcmp(rest[i], all[nfirst + i]), "entry %d after restart is '%s', want '%s'", nfirst + i, rest[i], all[nfirst + i]);
  pass();
}
