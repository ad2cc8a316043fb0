/* MAP_DROPPABLE (6.11+: memory the kernel may drop under pressure, vgetrandom's state): after
 * restart the region is still droppable ("dp" in its smaps VmFlags) and writable. */
#include "corpus.h"
#include <sys/mman.h>
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

static int droppable(void* p) {
  FILE* f = fopen("/proc/self/smaps", "r");
  char l[512];
  int in = 0, dp = 0;
  while (f && fgets(l, sizeof l, f)) {
    unsigned long a, b;
    if (sscanf(l, "%lx-%lx ", &a, &b) == 2 && strchr(l, ' ') && l[strlen(l) - 1] == '\n' && strstr(l, "-")) in = a == (unsigned long)p;
    if (in && !strncmp(l, "VmFlags:", 8)) dp = strstr(l, " dp") != NULL;
  }
  if (f) fclose(f);
  return dp;
}

int main(void) {
  char* p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) skip("MAP_DROPPABLE: %s", strerror(errno));
  p[0] = 1;
  if (!droppable(p)) skip("no dp in smaps VmFlags");

  ready_wait();

  CHECK(droppable(p), "the region at %p is no longer droppable after restart", (void*)p);
  p[1] = 2;
  pass();
}
