/* A region locked with mlock2(MLOCK_ONFAULT) (pages locked as they are touched, not all at once:
 * a large sparse buffer that must never be swapped): 64 pages, 4 of them touched. After restart
 * the data of the 4 is there and the region is still locked on fault (smaps "lo" and "lf"), not
 * locked whole (the 60 untouched pages are not made resident by the restore). */
#include "mem.h"
#include <sys/mman.h>

#define PG 4096
#define N 64

static long locked_kb(void* addr) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (!f) return -1;
  char line[512];
  int in = 0;
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in = (uintptr_t)addr >= a && (uintptr_t)addr < b;
      continue;
    }
    if (in && sscanf(line, "Locked: %ld kB", &kb) == 1) break;
  }
  fclose(f);
  return kb;
}

int main(void) {
  char* a = mmap(NULL, N * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) fail("mmap: %s", strerror(errno));
  if (mlock2(a, N * PG, MLOCK_ONFAULT)) skip("mlock2(MLOCK_ONFAULT): %s", strerror(errno));
  for (int i = 0; i < 4; i++) a[i * 16 * PG] = (char)('a' + i);
  if (!has_vmflag(a, "lf")) fail("setup: no \"lf\" in VmFlags");
  long kb0 = locked_kb(a);

  ready_wait();

  for (int i = 0; i < 4; i++) CHECK(a[i * 16 * PG] == (char)('a' + i), "page %d lost its byte", i * 16);
  CHECK(has_vmflag(a, "lo") && has_vmflag(a, "lf"), "the region is no longer locked on fault (VmFlags lack lo/lf)");
  long kb = locked_kb(a);
  CHECK(kb >= 0 && kb < (N * PG) / 1024, "Locked: %ld kB, the whole region (%d kB) was locked and made resident (was %ld kB)", kb,
        (N * PG) / 1024, kb0);
  a[40 * PG + 5] = 'z';
  CHECK(locked_kb(a) > kb, "touching a new page did not lock it (Locked %ld kB, was %ld kB)", locked_kb(a), kb);
  pass();
}
