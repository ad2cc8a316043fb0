/* A 1 TiB MAP_NORESERVE anonymous region with four pages touched (at 0, 1 GiB, 512 GiB and the
 * last page): after restart the region is still 1 TiB at the same address, the touched pages hold
 * their bytes, untouched pages read zero, and the process did not become huge (VmRSS stays small:
 * the untouched terabyte was not materialized). */
#include "mem.h"

#define TB (1ULL << 40)
#define GB (1ULL << 30)

static long rss_kb(void) {
  char v[64];
  return proc_status_field("/proc/self/status", "VmRSS", v, sizeof v) ? -1 : atol(v);
}

int main(void) {
  char* m = mmap(NULL, TB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) skip("a 1 TiB MAP_NORESERVE mapping is refused: %s", strerror(errno));
  uint64_t at[4] = {0, GB, 512 * GB, TB - 4096};
  for (int i = 0; i < 4; i++) fill_pattern(m + at[i], 4096, 200 + (uint32_t)i);

  ready_wait();

  uintptr_t lo, hi;
  char perms[5];
  CHECK(!map_of(m, &lo, &hi, perms, NULL, 0), "the region is gone");
  CHECK(lo <= (uintptr_t)m && hi >= (uintptr_t)m + TB, "the region is now %#lx-%#lx, want %p + 1 TiB", (unsigned long)lo, (unsigned long)hi, m);
  CHECK(!strncmp(perms, "rw", 2), "permissions %s", perms);
  for (int i = 0; i < 4; i++) {
    int bad = check_pattern(m + at[i], 4096, 200 + (uint32_t)i);
    CHECK(bad < 0, "touched page %d (offset %#llx) differs at byte %d", i, (unsigned long long)at[i], bad);
  }
  for (uint64_t off = 7 * GB; off < TB; off += 61 * GB) {
    static const char zero[4096];
    CHECK(!memcmp(m + off, zero, 4096), "untouched page at %#llx is not zero", (unsigned long long)off);
  }
  long rss = rss_kb();
  CHECK(rss >= 0 && rss < 512 * 1024, "VmRSS is %ld kB after restart", rss);
  pass();
}
