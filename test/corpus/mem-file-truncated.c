/* A file of 4 pages mapped MAP_SHARED, then truncated to 1 page and a half (a log rotated under a
 * reader): the pages past the end raise SIGBUS. After restart the mapping is still 4 pages at
 * the same address, page 0 holds the file's bytes, the tail of page 1 past EOF reads zero, pages 2
 * and 3 still raise SIGBUS (not silently zero-filled memory), and once the file grows back they
 * read the file again. */
#include "mem.h"

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  int fd = SYS(open("trunc.dat", O_RDWR | O_CREAT | O_TRUNC, 0644));
  char* buf = malloc((size_t)pg * 4);
  fill_pattern(buf, (size_t)pg * 4, 9);
  write_all(fd, buf, (size_t)pg * 4);
  char* m = SYS(mmap(NULL, (size_t)pg * 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  SYS(ftruncate(fd, pg + pg / 2));
  CHECK(faults(m + 2 * pg, 0) && faults(m + 3 * pg, 0), "before: pages past EOF do not fault");

  ready_wait();

  uintptr_t lo, hi;
  char perms[5], path[256];
  CHECK(map_of(m, &lo, &hi, perms, path, sizeof path) == 0, "the mapping is gone");
  CHECK(lo == (uintptr_t)m && hi - lo == (uintptr_t)pg * 4, "the mapping is %#lx-%#lx, want %p + 4 pages", (unsigned long)lo, (unsigned long)hi, (void*)m);
  CHECK(strstr(path, "trunc.dat"), "the mapping names %s", path);
  CHECK(!memcmp(m, buf, (size_t)pg), "page 0 differs from the file");
  CHECK(!memcmp(m + pg, buf + pg, (size_t)pg / 2), "the first half of page 1 differs from the file");
  for (long i = pg + pg / 2; i < 2 * pg; i++) CHECK(m[i] == 0, "byte %ld past EOF in page 1 is %d, not 0", i, m[i]);
  CHECK(faults(m + 2 * pg, 0), "page 2 (past EOF) reads without SIGBUS after restart");
  CHECK(faults(m + 3 * pg, 1), "page 3 (past EOF) is writable without SIGBUS after restart");
  SYS(ftruncate(fd, pg * 4));
  SYS(pwrite(fd, buf + 3 * pg, (size_t)pg, 3 * pg));
  CHECK(!memcmp(m + 3 * pg, buf + 3 * pg, (size_t)pg), "page 3 does not show the file once it grew back");
  m[0] = 'Z';
  char c;
  SYS(pread(fd, &c, 1, 0));
  CHECK(c == 'Z', "a store through the mapping is not in the file");
  pass();
}
