/* A region marked MADV_DONTFORK (with data): after restart the data is there, smaps still shows
 * the "dc" flag, and a child forked now does not get the region (touching it faults there) while a
 * normal region next to it is inherited. */
#include "mem.h"

int main(void) {
  char* a = SYS(mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  char* n = SYS(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  fill_pattern(a, 8 * 4096, 301);
  n[0] = 'n';
  SYS(madvise(a, 8 * 4096, MADV_DONTFORK));

  ready_wait();

  CHECK(check_pattern(a, 8 * 4096, 301) < 0, "the region's data differs");
  CHECK(has_vmflag(a, "dc") == 1, "smaps does not show dc (MADV_DONTFORK) for the region");
  CHECK(faults(a, 0), "a child forked after restart can read the MADV_DONTFORK region");
  CHECK(!faults(n, 0), "a child cannot read a normal region");
  pass();
}
