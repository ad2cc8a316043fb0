/* A directory of 3000 files read half-way with getdents64 in small batches (a find or rsync in
 * progress): 1400 names taken. After restart getdents64 on the same descriptor gives exactly the
 * 1602 names left (3000 plus . and ..): none repeated, none lost. */
#include "corpus.h"
#include <sys/syscall.h>

#define N 3000
#define FIRST 1400
struct d64 { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };

static unsigned char seen[N + 2];

/* Take up to max entries (max 0: all); returns how many. */
static int take(int fd, int max) {
  char buf[1024];
  int n = 0;
  for (;;) {
    /* a small buffer, and stop exactly at max by seeking to the last taken entry's offset */
    long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (r < 0) fail("getdents64: %s", strerror(errno));
    if (r == 0) return n;
    for (long i = 0; i < r;) {
      struct d64* d = (struct d64*)(buf + i);
      int k;
      if (!strcmp(d->name, ".")) k = N;
      else if (!strcmp(d->name, "..")) k = N + 1;
      else if (sscanf(d->name, "f%d", &k) != 1 || k < 0 || k >= N) fail("unexpected entry %s", d->name);
      if (seen[k]++) fail("entry %s seen twice", d->name);
      n++;
      if (max && n == max) {
        if (lseek(fd, d->off, SEEK_SET) < 0) fail("lseek(dir, %lld): %s", (long long)d->off, strerror(errno));
        return n;
      }
      i += d->reclen;
    }
  }
}

int main(void) {
  SYS(mkdir("big", 0755));
  char p[64];
  for (int i = 0; i < N; i++) {
    snprintf(p, sizeof p, "big/f%d", i);
    close(SYS(open(p, O_CREAT | O_WRONLY, 0644)));
  }
  int fd = SYS(open("big", O_RDONLY | O_DIRECTORY));
  int got = take(fd, FIRST);
  if (got != FIRST) fail("setup: took %d entries", got);
  off_t pos = lseek(fd, 0, SEEK_CUR);

  ready_wait();

  CHECK(lseek(fd, 0, SEEK_CUR) == pos, "directory position %lld, want %lld", (long long)lseek(fd, 0, SEEK_CUR), (long long)pos);
  int rest = take(fd, 0);
  int missing = 0;
  for (int i = 0; i < N + 2; i++) missing += !seen[i];
  CHECK(rest == N + 2 - FIRST && !missing, "after restart %d entries (want %d), %d never seen", rest, N + 2 - FIRST, missing);
  pass();
}
