/* Per-thread CPU affinity: the main thread on CPU 0, a second thread on the last CPU. After
 * restart each thread keeps its own mask. */
#include "corpus.h"
#include <sched.h>

static volatile int t_set, t_go, t_ok = -1;
static int last;

static void* th(void* a) {
  (void)a;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(last, &s);
  sched_setaffinity(0, sizeof s, &s);
  t_set = 1;
  while (!t_go) usleep(1000);
  cpu_set_t now;
  sched_getaffinity(0, sizeof now, &now);
  t_ok = CPU_COUNT(&now) == 1 && CPU_ISSET(last, &now);
  return NULL;
}

int main(void) {
  cpu_set_t all;
  SYS(sched_getaffinity(0, sizeof all, &all));
  if (CPU_COUNT(&all) < 2) skip("one CPU");
  last = -1;
  for (int i = 0; i < CPU_SETSIZE; i++)
    if (CPU_ISSET(i, &all)) last = i;
  int first = -1;
  for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
    if (CPU_ISSET(i, &all)) first = i;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(first, &s);
  SYS(sched_setaffinity(0, sizeof s, &s));
  pthread_t t;
  pthread_create(&t, NULL, th, NULL);
  while (!t_set) usleep(1000);

  ready_wait();

  cpu_set_t now;
  SYS(sched_getaffinity(0, sizeof now, &now));
  CHECK(CPU_COUNT(&now) == 1 && CPU_ISSET(first, &now), "the main thread's affinity changed (%d CPUs)", CPU_COUNT(&now));
  t_go = 1;
  pthread_join(t, NULL);
  CHECK(t_ok == 1, "the second thread's affinity changed");
  pass();
}
