/* Two threads in pthread_cond_timedwait with deadlines 60 s ahead: one on the default clock
 * (CLOCK_REALTIME), one on a condvar set to CLOCK_MONOTONIC (pthread_condattr_setclock). After
 * restart the main thread sets the predicate and broadcasts: both wake with 0, never ETIMEDOUT, never
 * a return without the predicate that looped, and the mutex works. */
#include "corpus.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_rt = PTHREAD_COND_INITIALIZER, cv_mono;
static int pred, waiting;
static volatile int res[2] = {-1, -1}, early[2];

static void* waiter(void* u) {
  int i = (int)(intptr_t)u;
  struct timespec dl;
  clock_gettime(i ? CLOCK_MONOTONIC : CLOCK_REALTIME, &dl);
  dl.tv_sec += 60;
  pthread_mutex_lock(&mu);
  waiting++;
  int e = 0;
  while (!pred && e == 0) {
    e = pthread_cond_timedwait(i ? &cv_mono : &cv_rt, &mu, &dl);
    if (e == 0 && !pred) early[i]++;
  }
  res[i] = e;
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(void) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&cv_mono, &ca);
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, waiter, (void*)(intptr_t)i)) fail("pthread_create");
  for (;;) {
    pthread_mutex_lock(&mu);
    int w = waiting;
    pthread_mutex_unlock(&mu);
    if (w == 2) break;
    usleep(1000);
  }

  ready_wait();

  pthread_mutex_lock(&mu);
  CHECK(res[0] == -1 && res[1] == -1, "a waiter returned before the predicate (%s / %s)", res[0] > 0 ? strerror(res[0]) : "-",
        res[1] > 0 ? strerror(res[1]) : "-");
  pred = 1;
  pthread_cond_broadcast(&cv_rt);
  pthread_cond_broadcast(&cv_mono);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < 2; i++) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    int e = pthread_timedjoin_np(t[i], NULL, &dl);
    CHECK(e == 0, "waiter %d did not wake up: %s", i, strerror(e));
    CHECK(res[i] == 0, "waiter %d (%s clock) returned %s", i, i ? "monotonic" : "realtime", strerror(res[i]));
  }
  pass();
}
