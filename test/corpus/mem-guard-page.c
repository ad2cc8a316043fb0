/* A guard page: three adjacent pages, the middle one PROT_NONE between two read-write pages with
 * data. After restart the outer pages keep their data at the same addresses, and the middle page
 * still faults on access (maps shows ---p there). */
#include "mem.h"

int main(void) {
  char* a = SYS(mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  fill_pattern(a, 4096, 331);
  fill_pattern(a + 8192, 4096, 332);
  SYS(mprotect(a + 4096, 4096, PROT_NONE));

  ready_wait();

  CHECK(check_pattern(a, 4096, 331) < 0, "the low page's data differs");
  CHECK(check_pattern(a + 8192, 4096, 332) < 0, "the high page's data differs");
  uintptr_t lo, hi;
  char p[5];
  CHECK(!map_of(a + 4096, &lo, &hi, p, NULL, 0), "the guard page is not mapped");
  CHECK(!strncmp(p, "---", 3), "the guard page is %s, want ---", p);
  CHECK(faults(a + 4096, 0), "reading the guard page does not fault");
  CHECK(!faults(a, 1) && !faults(a + 8192, 1), "writing an outer page faults");
  pass();
}
