/* The capability bounding set with CAP_NET_RAW and CAP_SYS_TIME dropped (PR_CAPBSET_DROP: a
 * service giving up what it will never need, so no later exec regains it). Needs CAP_SETPCAP
 * (root); SKIP otherwise. After restart PR_CAPBSET_READ says both are still out of the set and
 * every other capability still in it, and a child forked now inherits the same set. */
#include "corpus.h"
#include <linux/capability.h>
#include <sys/prctl.h>

static int last_cap(void) {
  int last = CAP_LAST_CAP;
  FILE* f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = CAP_LAST_CAP;
    fclose(f);
  }
  return last;
}

static unsigned long long bset(void) {
  unsigned long long m = 0;
  for (int c = 0; c <= last_cap() && c < 64; c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) m |= 1ull << c;
  return m;
}

int main(void) {
  if (prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0)) skip("PR_CAPBSET_DROP: %s (needs CAP_SETPCAP)", strerror(errno));
  SYS(prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0));
  unsigned long long b0 = bset();
  if (b0 & ((1ull << CAP_NET_RAW) | (1ull << CAP_SYS_TIME))) fail("setup: the capabilities are still in the set");

  ready_wait();

  unsigned long long b1 = bset();
  CHECK(b1 == b0, "the bounding set is %#llx, want %#llx", b1, b0);
  int p[2];
  SYS(pipe(p));
  pid_t k = SYS(fork());
  if (k == 0) {
    unsigned long long c = bset();
    write_all(p[1], &c, sizeof c);
    _exit(0);
  }
  unsigned long long c;
  read_exact(p[0], &c, sizeof c, "child");
  waitpid(k, NULL, 0);
  CHECK(c == b0, "a child forked after restart has bounding set %#llx, want %#llx", c, b0);
  pass();
}
