/* A 64 KiB region locked in memory with mlock: after restart the data is there and the region is
 * still locked (smaps "lo", VmLck >= 64 kB). */
#include "mem.h"

int main(void) {
  char* a = SYS(mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  fill_pattern(a, 65536, 361);
  if (mlock(a, 65536)) skip("mlock 64 KiB: %s", strerror(errno));

  ready_wait();

  CHECK(check_pattern(a, 65536, 361) < 0, "the locked region's data differs");
  CHECK(has_vmflag(a, "lo") == 1, "smaps does not show lo (locked)");
  char v[32];
  CHECK(!proc_status_field("/proc/self/status", "VmLck", v, sizeof v) && atol(v) >= 64, "VmLck is %s, want >= 64 kB", v);
  pass();
}
