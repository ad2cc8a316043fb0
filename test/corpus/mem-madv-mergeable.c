/* A region offered to KSM (madvise MADV_MERGEABLE: a VM host's guest memory, identical pages
 * shared), 32 pages of which 16 hold the same bytes. After restart the data is intact, the
 * region is still mergeable (smaps "mg") and writing one of the identical pages changes only it.
 * SKIP where the kernel has no KSM. */
#include "mem.h"

#define PG 4096
#define N 32

int main(void) {
  char* a = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) fail("mmap: %s", strerror(errno));
  for (int i = 0; i < N; i++) {
    if (i < 16) memset(a + i * PG, 0x5a, PG);
    else fill_pattern(a + i * PG, PG, (uint32_t)i);
  }
  if (madvise(a, N * PG, MADV_MERGEABLE)) skip("MADV_MERGEABLE: %s", strerror(errno));
  if (has_vmflag(a, "mg") != 1) skip("no \"mg\" in VmFlags after MADV_MERGEABLE");

  ready_wait();

  CHECK(has_vmflag(a, "mg") == 1, "the region is no longer mergeable (no \"mg\" in VmFlags)");
  for (int i = 0; i < N; i++) {
    if (i < 16) {
      for (int k = 0; k < PG; k++)
        if ((unsigned char)a[i * PG + k] != 0x5a) fail("identical page %d differs at %d", i, k);
    } else {
      CHECK(check_pattern(a + i * PG, PG, (uint32_t)i) < 0, "page %d differs", i);
    }
  }
  a[3 * PG + 9] = 1;
  CHECK((unsigned char)a[4 * PG + 9] == 0x5a && (unsigned char)a[2 * PG + 9] == 0x5a, "a write to one identical page changed another");
  pass();
}
