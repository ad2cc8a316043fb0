/* Three regions with the advice a program gives once and relies on: MADV_HUGEPAGE (smaps "hg"),
 * MADV_NOHUGEPAGE ("nh") and MADV_RANDOM ("rr"), each with data. After restart each region holds
 * its data and still carries its advice (and only its own: the neighbours must not merge). */
#include "mem.h"

int main(void) {
  size_t len = 4u << 20;
  char* a[3];
  int adv[3] = {MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_RANDOM};
  const char* name[3] = {"hg", "nh", "rr"};
  for (int i = 0; i < 3; i++) {
    a[i] = SYS(mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (madvise(a[i], len, adv[i])) skip("madvise %s: %s", name[i], strerror(errno));
    fill_pattern(a[i], 65536, 500 + (uint32_t)i);
  }

  ready_wait();

  for (int i = 0; i < 3; i++) {
    int bad = check_pattern(a[i], 65536, 500 + (uint32_t)i);
    CHECK(bad < 0, "region %d (%s) differs at byte %d", i, name[i], bad);
    CHECK(has_vmflag(a[i], name[i]) == 1, "smaps does not show %s for region %d", name[i], i);
  }
  CHECK(has_vmflag(a[1], "hg") == 0 && has_vmflag(a[0], "nh") == 0, "the huge page advice leaked to a neighbour");
  pass();
}
