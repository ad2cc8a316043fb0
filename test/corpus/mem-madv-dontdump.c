/* A region marked MADV_DONTDUMP (with data, which the program still needs): after restart the data
 * is there (excluding it from core dumps must not exclude it from the checkpoint) and smaps still
 * shows "dd". */
#include "mem.h"

int main(void) {
  char* a = SYS(mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  fill_pattern(a, 16 * 4096, 321);
  SYS(madvise(a, 16 * 4096, MADV_DONTDUMP));

  ready_wait();

  int bad = check_pattern(a, 16 * 4096, 321);
  CHECK(bad < 0, "the MADV_DONTDUMP region's data differs at %d", bad);
  CHECK(has_vmflag(a, "dd") == 1, "smaps does not show dd (MADV_DONTDUMP)");
  pass();
}
