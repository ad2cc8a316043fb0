/* The machine-check kill policy: PR_MCE_KILL_SET PR_MCE_KILL_EARLY (a database that wants SIGBUS
 * as soon as memory is found corrupt). After restart PR_MCE_KILL_GET still reads EARLY, for a new
 * thread too (threads inherit it). */
#include "corpus.h"
#include <sys/prctl.h>

static volatile int t_pol = -1;
static void* th(void* u) {
  (void)u;
  t_pol = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
  return NULL;
}

int main(void) {
  if (prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0)) skip("PR_MCE_KILL: %s", strerror(errno));
  if (prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) != PR_MCE_KILL_EARLY) fail("setup: PR_MCE_KILL_GET is not EARLY");

  ready_wait();

  int p = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
  CHECK(p == PR_MCE_KILL_EARLY, "PR_MCE_KILL_GET %d, want PR_MCE_KILL_EARLY (%d)", p, PR_MCE_KILL_EARLY);
  pthread_t t;
  if (pthread_create(&t, NULL, th, NULL)) fail("pthread_create");
  pthread_join(t, NULL);
  CHECK(t_pol == PR_MCE_KILL_EARLY, "a new thread's PR_MCE_KILL_GET %d, want EARLY", t_pol);
  pass();
}
