/* An unnamed POSIX semaphore (sem_init, value 0): the main thread waits in sem_timedwait with a
 * deadline 60 s ahead (CLOCK_REALTIME) and a second thread in sem_clockwait on CLOCK_MONOTONIC. Only
 * the go line (read by a thread, which then posts twice) may end the waits: both return 0, never
 * EINTR or ETIMEDOUT, and the value is 0 again. */
#include "corpus.h"
#include <semaphore.h>

static sem_t sem;
static volatile int res2 = -2;
static void post(void) {
  sem_post(&sem);
  sem_post(&sem);
}
static void* th(void* u) {
  (void)u;
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_sec += 60;
  res2 = sem_clockwait(&sem, CLOCK_MONOTONIC, &dl) ? errno : 0;
  return NULL;
}

int main(void) {
  SYS(sem_init(&sem, 0, 0));
  pthread_t t;
  if (pthread_create(&t, NULL, th, NULL)) fail("pthread_create");
  ready();
  line_thread(post);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 60;
  int r = sem_timedwait(&sem, &dl);
  CHECK(r == 0, "sem_timedwait: %s", strerror(errno));
  CHECK(line_seen, "sem_timedwait returned before the go line");
  pthread_join(t, NULL);
  CHECK(res2 == 0, "sem_clockwait: %s", strerror(res2));
  int v = -1;
  sem_getvalue(&sem, &v);
  CHECK(v == 0, "value %d after two posts and two waits", v);
  pass();
}
