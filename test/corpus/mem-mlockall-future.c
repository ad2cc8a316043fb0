/* mlockall(MCL_FUTURE | MCL_ONFAULT) (latency-sensitive programs: every mapping made from now on is
 * locked as it is touched): after restart a region mapped now is locked too (smaps "lo" and "lf"),
 * as one mapped before the checkpoint still is. */
#include "mem.h"

int main(void) {
  if (mlockall(MCL_FUTURE | MCL_ONFAULT)) skip("mlockall(MCL_FUTURE|MCL_ONFAULT): %s", strerror(errno));
  long pg = sysconf(_SC_PAGESIZE);
  char* a = SYS(mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  a[0] = 1;
  CHECK(has_vmflag(a, "lf") == 1, "before: a new region is not locked on fault");

  ready_wait();

  CHECK(has_vmflag(a, "lf") == 1, "the region mapped before the checkpoint is no longer locked on fault");
  char* b = SYS(mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  b[0] = 1;
  CHECK(has_vmflag(b, "lf") == 1 && has_vmflag(b, "lo") == 1, "a region mapped after restart is not locked (MCL_FUTURE lost)");
  munlockall();
  pass();
}
