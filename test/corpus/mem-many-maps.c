/* 10,000 small mappings (one page each, every other page of a reserved range left unmapped so no
 * two merge), each holding its index: after restart every one is still mapped at its address with
 * its own bytes, the gaps between them are still unmapped (mincore: ENOMEM), and the process has
 * at least 10,000 more mappings than a program has (maps lines). */
#include "mem.h"

#define N 10000

static int count_maps(void) {
  FILE* f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

int main(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char* base = SYS(mmap(NULL, (size_t)(2 * N + 1) * (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  SYS(munmap(base, (size_t)(2 * N + 1) * (size_t)pg));
  for (int i = 0; i < N; i++) {
    char* a = base + (size_t)(2 * i + 1) * (size_t)pg;
    char* m = mmap(a, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m == MAP_FAILED) skip("mapping %d: %s (vm.max_map_count?)", i, strerror(errno));
    memcpy(m, &i, sizeof i);
    m[pg - 1] = (char)(i * 7);
  }
  int before = count_maps();

  ready_wait();

  for (int i = 0; i < N; i++) {
    char* a = base + (size_t)(2 * i + 1) * (size_t)pg;
    unsigned char v;
    CHECK(!mincore(a, (size_t)pg, &v), "mapping %d at %p is gone: %s", i, (void*)a, strerror(errno));
    int got;
    memcpy(&got, a, sizeof got);
    CHECK(got == i && a[pg - 1] == (char)(i * 7), "mapping %d holds %d", i, got);
    CHECK(mincore(a - pg, (size_t)pg, &v) < 0 && errno == ENOMEM, "the gap before mapping %d is mapped", i);
  }
  int after = count_maps();
  CHECK(after >= N && after >= before - 50, "maps has %d lines (had %d before): the mappings merged or are gone", after, before);
  pass();
}
