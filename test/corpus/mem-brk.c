/* The heap grown with sbrk (a custom allocator on brk, as old programs and some runtimes have):
 * 1 MiB above the initial break, with data. After restart sbrk(0) is where it was, the data is
 * there, the heap grows further (sbrk 64 KiB: writable) and shrinks back, and /proc/self/stat's
 * start_brk/brk fields agree with what we see. */
#include "corpus.h"

static int stat_brk(unsigned long* start, unsigned long* end) {
  char b[2048];
  int f = open("/proc/self/stat", O_RDONLY);
  if (f < 0) return -1;
  ssize_t n = read(f, b, sizeof b - 1);
  close(f);
  if (n <= 0) return -1;
  b[n] = 0;
  char* p = strrchr(b, ')');
  if (!p) return -1;
  /* fields after the comm: state is field 3; start_brk is 47, brk 48 */
  int field = 2;
  for (char* q = p + 1; *q; q++) {
    if (*q == ' ') {
      field++;
      if (field == 47) *start = strtoul(q + 1, NULL, 10);
      if (field == 48) { *end = strtoul(q + 1, NULL, 10); return 0; }
    }
  }
  return -1;
}

int main(void) {
  char* base = sbrk(0);
  char* h = sbrk(1 << 20);
  CHECK(h != (void*)-1, "sbrk: %s", strerror(errno));
  fill_pattern(h, 1 << 20, 5);
  char* top = sbrk(0);
  unsigned long s0 = 0, e0 = 0;
  CHECK(stat_brk(&s0, &e0) == 0, "before: no brk in /proc/self/stat");

  ready_wait();

  CHECK(sbrk(0) == top, "the break is %p, was %p", sbrk(0), (void*)top);
  CHECK(check_pattern(h, 1 << 20, 5) < 0, "the heap data differs");
  unsigned long s1 = 0, e1 = 0;
  CHECK(stat_brk(&s1, &e1) == 0, "no brk in /proc/self/stat");
  CHECK(s1 == s0 && e1 == e0, "start_brk/brk %#lx/%#lx, were %#lx/%#lx", s1, e1, s0, e0);
  char* more = sbrk(65536);
  CHECK(more == top, "sbrk(64 KiB) returned %p, want %p", (void*)more, (void*)top);
  memset(more, 0x5a, 65536);
  CHECK(sbrk(-65536) != (void*)-1 && sbrk(0) == top, "the heap did not shrink back");
  CHECK(brk(base) == 0 && sbrk(0) == base, "brk back to the initial break failed");
  pass();
}
