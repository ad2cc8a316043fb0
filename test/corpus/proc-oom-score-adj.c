/* /proc/self/oom_score_adj raised to 321 (allowed without privilege): after restart it reads 321
 * (and oom_adj, derived from it, is consistent). */
#include "corpus.h"

static int readint(const char* p) {
  char b[32] = {0};
  int f = open(p, O_RDONLY);
  if (f < 0) return -99999;
  ssize_t n = read(f, b, sizeof b - 1);
  close(f);
  return n > 0 ? atoi(b) : -99999;
}

int main(void) {
  int f = SYS(open("/proc/self/oom_score_adj", O_WRONLY));
  if (write(f, "321", 3) != 3) fail("write oom_score_adj: %s", strerror(errno));
  close(f);
  int adj = readint("/proc/self/oom_adj");

  ready_wait();

  int v = readint("/proc/self/oom_score_adj");
  CHECK(v == 321, "oom_score_adj is %d, want 321", v);
  CHECK(readint("/proc/self/oom_adj") == adj, "oom_adj is %d, want %d", readint("/proc/self/oom_adj"), adj);
  pass();
}
