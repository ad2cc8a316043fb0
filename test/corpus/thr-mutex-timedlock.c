/* The main thread blocks in pthread_mutex_timedlock (deadline 60 s away on CLOCK_REALTIME) on a
 * mutex a second thread holds; that thread reads the go line and only then unlocks. The lock must
 * be taken (0: never EINTR, never ETIMEDOUT early) only after the go line, and then be ours
 * (trylock from the other thread gets EBUSY). */
#include "corpus.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile int held;
static void* holder(void* u) {
  (void)u;
  pthread_mutex_lock(&m);
  __atomic_store_n(&held, 1, __ATOMIC_SEQ_CST);
  read_line();
  __atomic_store_n(&line_seen, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&m);
  return NULL;
}
static void* trier(void* u) {
  (void)u;
  return (void*)(intptr_t)pthread_mutex_trylock(&m);
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, holder, NULL)) fail("pthread_create");
  while (!__atomic_load_n(&held, __ATOMIC_SEQ_CST)) usleep(1000);
  ready();
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 60;
  double t0 = now_mono();
  int e = pthread_mutex_timedlock(&m, &dl);
  CHECK(e == 0, "pthread_mutex_timedlock: %s after %.3f s", strerror(e), now_mono() - t0);
  CHECK(line_seen, "the lock was taken before its holder read the go line");
  pthread_join(t, NULL);
  pthread_t q;
  void* r;
  if (pthread_create(&q, NULL, trier, NULL)) fail("pthread_create");
  pthread_join(q, &r);
  CHECK((intptr_t)r == EBUSY, "another thread's trylock returned %ld, want EBUSY", (long)(intptr_t)r);
  pass();
}
