/* prctl(PR_SET_TSC, PR_TSC_SIGSEGV) (deterministic replay tools, sandboxes): rdtsc faults. After
 * restart PR_GET_TSC still says PR_TSC_SIGSEGV. */
#include "corpus.h"
#include <sys/prctl.h>

int main(void) {
  if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) < 0) skip("PR_SET_TSC: %s", strerror(errno));

  ready_wait();

  int v = -1;
  SYS(prctl(PR_GET_TSC, &v, 0, 0, 0));
  CHECK(v == PR_TSC_SIGSEGV, "PR_GET_TSC %d after restart, want PR_TSC_SIGSEGV", v);
  pass();
}
