/* MADV_FREE'd pages: an 8-page private anonymous region with its bytes, pages 2-5 given back with
 * MADV_FREE (the kernel may drop them until they are written again), then page 3 written again
 * (which cancels the free for that page). After restart pages 0, 1, 6 and 7 hold their bytes,
 * page 3 its new bytes, and each of pages 2, 4 and 5 reads either all its old bytes or all zero
 * (never a mix, never other bytes); every page is still writable. */
#include "mem.h"

#define NP 8

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char* m = SYS(mmap(NULL, (size_t)(NP * pg), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  for (int p = 0; p < NP; p++) fill_pattern(m + p * pg, (size_t)pg, 600 + (uint32_t)p);
  if (madvise(m + 2 * pg, (size_t)(4 * pg), MADV_FREE)) skip("MADV_FREE: %s", strerror(errno));
  fill_pattern(m + 3 * pg, (size_t)pg, 699);

  ready_wait();

  for (int p = 0; p < NP; p++) {
    char* q = m + p * pg;
    if (p == 3) {
      CHECK(check_pattern(q, (size_t)pg, 699) < 0, "page 3 (written after MADV_FREE) lost its new bytes");
    } else if (p == 2 || p == 4 || p == 5) {
      int zero = 1;
      for (long i = 0; i < pg && zero; i++) zero = !q[i];
      CHECK(zero || check_pattern(q, (size_t)pg, 600 + (uint32_t)p) < 0, "page %d (freed) is neither its old bytes nor zero", p);
    } else {
      int at = check_pattern(q, (size_t)pg, 600 + (uint32_t)p);
      CHECK(at < 0, "page %d differs at byte %d", p, at);
    }
    q[0] = 1;
  }
  pass();
}
