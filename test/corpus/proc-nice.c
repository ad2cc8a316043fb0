/* A process that lowered its own priority (nice 7, as batch jobs do) and a thread at nice 11:
 * after restart getpriority gives 7 for the process, 11 for that thread (Linux nice values are
 * per thread). */
#include "corpus.h"
#include <sys/resource.h>
#include <sys/syscall.h>

static volatile int t_set, t_go, t_nice = -100;

static void* th(void* a) {
  (void)a;
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 11);
  t_set = 1;
  while (!t_go) usleep(1000);
  errno = 0;
  t_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
  return NULL;
}

int main(void) {
  errno = 0;
  int n0 = getpriority(PRIO_PROCESS, 0);
  if (n0 > 7) skip("already at nice %d", n0);
  SYS(setpriority(PRIO_PROCESS, 0, 7));
  pthread_t t;
  pthread_create(&t, NULL, th, NULL);
  while (!t_set) usleep(1000);

  ready_wait();

  errno = 0;
  int n = getpriority(PRIO_PROCESS, 0);
  CHECK(n == 7, "nice %d after restart, want 7", n);
  t_go = 1;
  pthread_join(t, NULL);
  CHECK(t_nice == 11, "the thread's nice is %d after restart, want 11", t_nice);
  pass();
}
