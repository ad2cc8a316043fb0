/* A MAP_GROWSDOWN region (a hand-made stack, as some runtimes and green-thread libraries make):
 * 16 pages with data in the top ones. After restart it is still at the same address with the
 * data, smaps still says "gd", and a touch just below it grows it downwards (the region's start
 * moves down) instead of faulting. */
#include "mem.h"

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  /* Placed with 8 MiB free below it: the kernel grows a region only with its guard gap (1 MiB by
   * default) free underneath, and under an LD_PRELOADed library a hole-filling mmap may land
   * closer than that to another mapping. */
  size_t hole = 8u << 20;
  char* res = SYS(mmap(NULL, hole, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  SYS(munmap(res, hole));
  char* m = SYS(mmap(res + hole - 16 * pg, (size_t)pg * 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0));
  fill_pattern(m + 8 * pg, (size_t)pg * 8, 21);
  CHECK(has_vmflag(m + 8 * pg, "gd") == 1, "before: no gd flag");

  ready_wait();

  CHECK(check_pattern(m + 8 * pg, (size_t)pg * 8, 21) < 0, "the data in the region differs");
  CHECK(has_vmflag(m + 8 * pg, "gd") == 1, "the region is no longer MAP_GROWSDOWN (no gd in smaps)");
  uintptr_t lo, hi;
  char perms[5];
  CHECK(map_of(m + 8 * pg, &lo, &hi, perms, NULL, 0) == 0, "no mapping");
  /* The kernel grows the region when an access falls in the page just below it. */
  pid_t p = fork();
  if (p == 0) {
    volatile char* below = (volatile char*)lo - pg;
    *below = 7;
    uintptr_t l2, h2;
    char p2[5];
    _exit(map_of(m + 8 * pg, &l2, &h2, p2, NULL, 0) == 0 && l2 < lo ? 0 : 1);
  }
  int st;
  waitpid(p, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    /* Say what lies below (the kernel keeps a guard gap under a growing region). */
    char line[256], below[256] = "nothing";
    FILE* f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f)) {
      unsigned long a, b;
      if (sscanf(line, "%lx-%lx", &a, &b) == 2 && b <= lo) snprintf(below, sizeof below, "%s", line);
    }
    if (f) fclose(f);
    below[strcspn(below, "\n")] = 0;
    fail("a touch just below the region %#lx-%#lx does not grow it (%s %d); below it: %s", (unsigned long)lo, (unsigned long)hi,
         WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), below);
  }
  pass();
}
