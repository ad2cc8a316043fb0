/* The auxiliary vector the program started with: getauxval(AT_RANDOM) (the 16 bytes glibc seeded
 * the stack protector and pointer guard from), AT_HWCAP, AT_HWCAP2, AT_PAGESZ, AT_PHDR, AT_ENTRY,
 * AT_SYSINFO_EHDR (the vDSO), AT_MINSIGSTKSZ and /proc/self/auxv: after restart each is the same
 * (the program's view of how it was started does not change), and AT_SYSINFO_EHDR still points to
 * a mapping named [vdso]. */
#include "mem.h"
#include <sys/auxv.h>

static int read_proc(const char* p, char* b, size_t cap) {
  int f = open(p, O_RDONLY);
  if (f < 0) return -1;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(f, b + n, cap - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(f);
  return (int)n;
}

static const unsigned long keys[] = {AT_HWCAP, AT_HWCAP2, AT_PAGESZ, AT_PHDR, AT_ENTRY, AT_SYSINFO_EHDR, AT_MINSIGSTKSZ, AT_RANDOM, AT_EXECFN};
static const char* const names[] = {"AT_HWCAP", "AT_HWCAP2", "AT_PAGESZ", "AT_PHDR", "AT_ENTRY", "AT_SYSINFO_EHDR", "AT_MINSIGSTKSZ", "AT_RANDOM", "AT_EXECFN"};
#define NK (sizeof keys / sizeof keys[0])

int main(void) {
  unsigned long v0[NK];
  for (size_t i = 0; i < NK; i++) v0[i] = getauxval(keys[i]);
  unsigned char rnd0[16];
  memcpy(rnd0, (void*)getauxval(AT_RANDOM), 16);
  static char a0[4096], a1[4096];
  int n0 = read_proc("/proc/self/auxv", a0, sizeof a0);
  CHECK(n0 > 0, "before: reading /proc/self/auxv");

  ready_wait();

  for (size_t i = 0; i < NK; i++) {
    unsigned long v = getauxval(keys[i]);
    CHECK(v == v0[i], "getauxval(%s) is %#lx, was %#lx", names[i], v, v0[i]);
  }
  CHECK(!memcmp((void*)getauxval(AT_RANDOM), rnd0, 16), "the AT_RANDOM bytes changed");
  int n1 = read_proc("/proc/self/auxv", a1, sizeof a1);
  CHECK(n1 == n0, "/proc/self/auxv is %d bytes, was %d", n1, n0);
  for (int i = 0; i + 16 <= n0; i += 16) {
    unsigned long k0, x0, k1, x1;
    memcpy(&k0, a0 + i, 8);
    memcpy(&x0, a0 + i + 8, 8);
    memcpy(&k1, a1 + i, 8);
    memcpy(&x1, a1 + i + 8, 8);
    CHECK(k0 == k1 && x0 == x1, "/proc/self/auxv entry %d: type %lu value %#lx, was type %lu value %#lx", i / 16, k1, x1, k0, x0);
  }
  uintptr_t lo, hi;
  char perms[5], path[64];
  CHECK(map_of((void*)getauxval(AT_SYSINFO_EHDR), &lo, &hi, perms, path, sizeof path) == 0 && !strcmp(path, "[vdso]"),
        "AT_SYSINFO_EHDR %#lx is not the [vdso] mapping", getauxval(AT_SYSINFO_EHDR));
  pass();
}
