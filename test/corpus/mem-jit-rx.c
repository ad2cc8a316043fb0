/* JIT code: an anonymous page written with machine code and then made read+execute (W^X), a second
 * one read+write+execute. After restart the first is still r-x (a store faults) and the code in
 * both runs, returning what it returned before; the second can be patched and runs the patch. */
#include "mem.h"

typedef int (*fn_t)(void);
static const unsigned char ret42[] = {0xb8, 42, 0, 0, 0, 0xc3}; /* mov $42,%eax; ret */

int main(void) {
#if !defined(__x86_64__)
  skip("x86-64 code");
#endif
  long pg = sysconf(_SC_PAGESIZE);
  unsigned char* rx = SYS(mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  memcpy(rx, ret42, sizeof ret42);
  SYS(mprotect(rx, (size_t)pg, PROT_READ | PROT_EXEC));
  unsigned char* rwx = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (rwx == MAP_FAILED) skip("no PROT_EXEC|PROT_WRITE mappings here: %s", strerror(errno));
  memcpy(rwx, ret42, sizeof ret42);
  rwx[1] = 7;
  CHECK(((fn_t)(void*)rx)() == 42 && ((fn_t)(void*)rwx)() == 7, "before: the code does not run");

  ready_wait();

  uintptr_t lo, hi;
  char perms[5];
  CHECK(map_of(rx, &lo, &hi, perms, NULL, 0) == 0 && !strcmp(perms, "r-xp"), "the code page is %s, want r-xp", perms);
  CHECK(map_of(rwx, &lo, &hi, perms, NULL, 0) == 0 && !strcmp(perms, "rwxp"), "the rwx page is %s, want rwxp", perms);
  CHECK(((fn_t)(void*)rx)() == 42, "the r-x code returns something else");
  CHECK(((fn_t)(void*)rwx)() == 7, "the rwx code returns something else");
  CHECK(faults((volatile char*)rx, 1), "a store to the r-x page does not fault");
  rwx[1] = 9;
  __builtin___clear_cache((char*)rwx, (char*)rwx + 8);
  CHECK(((fn_t)(void*)rwx)() == 9, "the patched rwx code does not run the patch");
  pass();
}
