/* One 64-page anonymous region cut by mprotect into a patchwork: pages 8-11 and 40 PROT_NONE,
 * 20-23 read-only, 50-51 PROT_NONE, the rest read-write, every accessible page holding its own
 * bytes (written before the cuts). After restart each page has its protection again (maps), the
 * PROT_NONE pages fault, the read-only ones fault on a write and read their bytes, the read-write
 * ones hold their bytes, and mprotect can open a PROT_NONE page again with its old bytes. */
#include "mem.h"

#define NP 64

static int prot_of(int p) {
  if ((p >= 8 && p <= 11) || p == 40 || p == 50 || p == 51) return PROT_NONE;
  if (p >= 20 && p <= 23) return PROT_READ;
  return PROT_READ | PROT_WRITE;
}

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char* m = SYS(mmap(NULL, (size_t)(NP * pg), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  for (int p = 0; p < NP; p++) fill_pattern(m + p * pg, (size_t)pg, 500 + (uint32_t)p);
  for (int p = 0; p < NP; p++)
    if (prot_of(p) != (PROT_READ | PROT_WRITE)) SYS(mprotect(m + p * pg, (size_t)pg, prot_of(p)));

  ready_wait();

  for (int p = 0; p < NP; p++) {
    uintptr_t lo, hi;
    char perms[5];
    CHECK(!map_of(m + p * pg, &lo, &hi, perms, NULL, 0), "page %d is not mapped", p);
    int want = prot_of(p);
    char w[5] = {want & PROT_READ ? 'r' : '-', want & PROT_WRITE ? 'w' : '-', '-', 'p', 0};
    CHECK(!strncmp(perms, w, 4), "page %d is %s, want %s", p, perms, w);
    if (want == PROT_NONE) {
      CHECK(faults(m + p * pg, 0), "page %d (PROT_NONE) can be read", p);
      continue;
    }
    int at = check_pattern(m + p * pg, (size_t)pg, 500 + (uint32_t)p);
    CHECK(at < 0, "page %d differs at byte %d", p, at);
    if (!(want & PROT_WRITE)) CHECK(faults(m + p * pg, 1), "page %d (read-only) can be written", p);
  }
  SYS(mprotect(m + 40 * pg, (size_t)pg, PROT_READ));
  CHECK(check_pattern(m + 40 * pg, (size_t)pg, 540) < 0, "page 40 opened again lost its bytes");
  pass();
}
