/* A private file mapping (MAP_PRIVATE, read-write), 4 pages, pages 1 and 3 modified in memory:
 * after restart the modified pages hold our bytes, pages 0 and 2 the file's, and the file itself
 * is unchanged (private stores never reach it); a new store to page 0 is still private. */
#include "mem.h"

int main(void) {
  static char d[4 * 4096];
  fill_pattern(d, sizeof d, 351);
  int f = SYS(open("private-map.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(f, d, sizeof d);
  char* m = SYS(mmap(NULL, sizeof d, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0));
  fill_pattern(m + 4096, 4096, 352);
  fill_pattern(m + 3 * 4096, 4096, 353);

  ready_wait();

  CHECK(!memcmp(m, d, 4096), "page 0 (unmodified) differs from the file");
  CHECK(check_pattern(m + 4096, 4096, 352) < 0, "page 1 (modified) lost our bytes");
  CHECK(!memcmp(m + 8192, d + 8192, 4096), "page 2 (unmodified) differs from the file");
  CHECK(check_pattern(m + 3 * 4096, 4096, 353) < 0, "page 3 (modified) lost our bytes");
  m[0] = (char)~d[0];
  static char now[4 * 4096];
  SYS(pread(f, now, sizeof now, 0));
  CHECK(!memcmp(now, d, sizeof d), "the file changed: private stores reached it");
  pass();
}
