/* A region grown and moved by mremap (a growing buffer as realloc does for large blocks): 4 pages
 * of data mapped, then mremap'd to 16 pages at a fixed new address (MREMAP_MAYMOVE|MREMAP_FIXED)
 * with pages 4..15 written too, and the old range left unmapped. After restart the region is at
 * the new address with its 16 pages of data, the old range is still unmapped (faults), and the
 * region can still be grown in place or moved by mremap. */
#include "mem.h"

#define PG 4096
int main(void) {
  /* reserve a place for the new address, so MREMAP_FIXED lands on something free */
  char* hole = mmap(NULL, 64 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (hole == MAP_FAILED) fail("mmap: %s", strerror(errno));
  SYS(munmap(hole, 64 * PG));
  char* old = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (old == MAP_FAILED) fail("mmap: %s", strerror(errno));
  fill_pattern(old, 4 * PG, 5);
  char* want = hole + 16 * PG;
  char* m = mremap(old, 4 * PG, 16 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, want);
  if (m == MAP_FAILED) fail("mremap: %s", strerror(errno));
  if (m != want) fail("setup: mremap put it at %p, want %p", (void*)m, (void*)want);
  fill_pattern(m + 4 * PG, 12 * PG, 6);

  ready_wait();

  uintptr_t lo, hi;
  char perms[5];
  CHECK(!map_of(m, &lo, &hi, perms, NULL, 0), "nothing mapped at %p", (void*)m);
  CHECK(lo <= (uintptr_t)m && hi >= (uintptr_t)(m + 16 * PG), "mapping %#lx-%#lx does not cover the 16 pages at %p", (unsigned long)lo,
        (unsigned long)hi, (void*)m);
  CHECK(!strcmp(perms, "rw-p"), "perms %s, want rw-p", perms);
  CHECK(check_pattern(m, 4 * PG, 5) < 0, "the moved pages differ at %d", check_pattern(m, 4 * PG, 5));
  CHECK(check_pattern(m + 4 * PG, 12 * PG, 6) < 0, "the grown pages differ at %d", check_pattern(m + 4 * PG, 12 * PG, 6));
  if (old < m || old >= m + 16 * PG) CHECK(faults(old, 0), "the old range %p is mapped again", (void*)old);
  char* g = mremap(m, 16 * PG, 20 * PG, 0);
  CHECK(g == m, "growing in place after restart: %s", g == MAP_FAILED ? strerror(errno) : "moved");
  g[20 * PG - 1] = 1;
  char* n = mremap(m, 20 * PG, 24 * PG, MREMAP_MAYMOVE);
  CHECK(n != MAP_FAILED, "mremap MAYMOVE after restart: %s", strerror(errno));
  CHECK(check_pattern(n, 4 * PG, 5) < 0 && check_pattern(n + 4 * PG, 12 * PG, 6) < 0, "data lost moving again");
  pass();
}
