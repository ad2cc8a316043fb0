/* prctl(PR_SET_THP_DISABLE): the process asked for no transparent huge pages (a latency-sensitive
 * server does this). After restart PR_GET_THP_DISABLE still says 1, and /proc/self/status too. */
#include "corpus.h"
#include <sys/prctl.h>

static int status_thp(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char l[256];
  int v = -1;
  while (f && fgets(l, sizeof l, f))
    if (!strncmp(l, "THP_enabled:", 12)) v = atoi(l + 12);
  if (f) fclose(f);
  return v;
}

int main(void) {
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0) skip("PR_SET_THP_DISABLE: %s", strerror(errno));
  int before = status_thp();

  ready_wait();

  CHECK(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "PR_GET_THP_DISABLE is 0 after restart");
  CHECK(status_thp() == before, "THP_enabled in /proc/self/status %d, was %d", status_thp(), before);
  pass();
}
