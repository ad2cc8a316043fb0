/* A file mapped MAP_SHARED read-only (the file opened read-write), 3 pages: after restart it maps
 * the same file (same bytes, maps names the file), mprotect to read-write works, and a store
 * through the mapping reaches the file (pread from a fresh open sees it after msync). */
#include "mem.h"
#include <limits.h>

int main(void) {
  static char d[3 * 4096];
  fill_pattern(d, sizeof d, 341);
  int f = SYS(open("shared-map.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(f, d, sizeof d);
  char* m = SYS(mmap(NULL, sizeof d, PROT_READ, MAP_SHARED, f, 0));
  close(f);
  char cwd[PATH_MAX], want[PATH_MAX + 32];
  if (!getcwd(cwd, sizeof cwd)) fail("getcwd");
  snprintf(want, sizeof want, "%s/shared-map.dat", cwd);

  ready_wait();

  CHECK(!memcmp(m, d, sizeof d), "the mapping's bytes differ from the file");
  uintptr_t lo, hi;
  char p[5], path[PATH_MAX];
  CHECK(!map_of(m, &lo, &hi, p, path, sizeof path), "the mapping is gone");
  CHECK(!strcmp(path, want), "the mapping is of '%s', want '%s'", path, want);
  CHECK(!strcmp(p, "r--s"), "the mapping is %s, want r--s", p);
  CHECK(!mprotect(m, sizeof d, PROT_READ | PROT_WRITE), "mprotect read-write: %s", strerror(errno));
  memcpy(m + 4096, "written after restart", 21);
  SYS(msync(m, sizeof d, MS_SYNC));
  int g = SYS(open("shared-map.dat", O_RDONLY));
  char b[32] = {0};
  SYS(pread(g, b, 21, 4096));
  CHECK(!memcmp(b, "written after restart", 21), "a store through the shared mapping did not reach the file");
  pass();
}
