/* A region placed with MAP_FIXED_NOREPLACE at a chosen address (0x3e0000000000 region, 16 pages,
 * data in each): after restart it is at that address with its bytes, another MAP_FIXED_NOREPLACE
 * over any part of it fails with EEXIST (it is really there, not an empty reservation), and the
 * page after it is still free (a MAP_FIXED_NOREPLACE there works). */
#include "mem.h"

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char* want = (char*)0x3e0000000000ul;
  char* m = mmap(want, (size_t)(16 * pg), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (m == MAP_FAILED) skip("MAP_FIXED_NOREPLACE at %p: %s", (void*)want, strerror(errno));
  if (m != want) skip("the kernel ignores MAP_FIXED_NOREPLACE (placed at %p)", (void*)m);
  for (int p = 0; p < 16; p++) fill_pattern(m + p * pg, (size_t)pg, 700 + (uint32_t)p);

  ready_wait();

  for (int p = 0; p < 16; p++) {
    int at = check_pattern(want + p * pg, (size_t)pg, 700 + (uint32_t)p);
    CHECK(at < 0, "page %d at %p differs at byte %d", p, (void*)(want + p * pg), at);
  }
  char* again = mmap(want + 5 * pg, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  CHECK(again == MAP_FAILED && errno == EEXIST, "MAP_FIXED_NOREPLACE over the region did not fail with EEXIST (%p, %s)", (void*)again, strerror(errno));
  char* after = mmap(want + 16 * pg, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  CHECK(after == want + 16 * pg, "the page after the region is taken (%p, %s)", (void*)after, after == MAP_FAILED ? strerror(errno) : "elsewhere");
  pass();
}
