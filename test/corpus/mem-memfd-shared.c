/* A memfd (3 pages, data) mapped MAP_SHARED, the descriptor kept: after restart the mapping and
 * the descriptor are still one object: a store through the mapping is read by pread, and a pwrite
 * shows in the mapping. */
#include "mem.h"

int main(void) {
  int f = memfd_create("corpus-shared", 0);
  if (f < 0) fail("memfd_create: %s", strerror(errno));
  SYS(ftruncate(f, 3 * 4096));
  char* m = SYS(mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0));
  fill_pattern(m, 3 * 4096, 401);

  ready_wait();

  CHECK(check_pattern(m, 3 * 4096, 401) < 0, "the mapping's data differs");
  static char b[3 * 4096];
  ssize_t n = pread(f, b, sizeof b, 0);
  CHECK(n == (ssize_t)sizeof b, "pread of the memfd returned %zd (%s), want %zu", n, n < 0 ? strerror(errno) : "short", sizeof b);
  CHECK(check_pattern(b, sizeof b, 401) < 0, "the memfd's contents differ from the mapping");
  memcpy(m + 10, "store", 5);
  SYS(pread(f, b, 5, 10));
  CHECK(!memcmp(b, "store", 5), "a store through the mapping does not reach the memfd");
  SYS(pwrite(f, "write", 5, 4096));
  CHECK(!memcmp(m + 4096, "write", 5), "a pwrite to the memfd does not show in the mapping");
  pass();
}
