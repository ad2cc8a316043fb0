/* sched_setscheduler(SCHED_BATCH) (any user may choose it): after restart the policy is still
 * SCHED_BATCH, and a SCHED_IDLE thread is still SCHED_IDLE. */
#include "corpus.h"
#include <sched.h>
#include <sys/syscall.h>

static volatile int t_set, t_go, t_pol = -1;

static void* th(void* a) {
  (void)a;
  struct sched_param sp = {0};
  sched_setscheduler((pid_t)syscall(SYS_gettid), SCHED_IDLE, &sp);
  t_set = 1;
  while (!t_go) usleep(1000);
  t_pol = sched_getscheduler((pid_t)syscall(SYS_gettid));
  return NULL;
}

int main(void) {
  struct sched_param sp = {0};
  SYS(sched_setscheduler(0, SCHED_BATCH, &sp));
  pthread_t t;
  pthread_create(&t, NULL, th, NULL);
  while (!t_set) usleep(1000);

  ready_wait();

  int p = sched_getscheduler(0);
  CHECK(p == SCHED_BATCH, "policy %d after restart, want SCHED_BATCH (%d)", p, SCHED_BATCH);
  t_go = 1;
  pthread_join(t, NULL);
  CHECK(t_pol == SCHED_IDLE, "the thread's policy is %d after restart, want SCHED_IDLE (%d)", t_pol, SCHED_IDLE);
  pass();
}
