/* A thread waiting in pthread_cond_wait (a futex wait) across the checkpoint. After restart the
 * main thread sets the predicate and signals; the waiter wakes, sees the predicate, and both the
 * mutex and a join work (the futex words are intact and nobody spins). */
#include "corpus.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready_flag, waiting, woke;

static void* waiter(void* u) {
  (void)u;
  pthread_mutex_lock(&mu);
  waiting = 1;
  while (!ready_flag) pthread_cond_wait(&cv, &mu);
  woke = 1;
  pthread_mutex_unlock(&mu);
  return (void*)42;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, waiter, NULL)) fail("pthread_create");
  for (;;) {
    pthread_mutex_lock(&mu);
    int w = waiting;
    pthread_mutex_unlock(&mu);
    if (w) break;
    usleep(1000);
  }

  ready_wait();

  int e = pthread_mutex_lock(&mu);
  CHECK(e == 0, "locking the mutex: %s", strerror(e));
  CHECK(!woke, "the waiter woke up without the predicate");
  ready_flag = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  void* r;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 5;
  e = pthread_timedjoin_np(t, &r, &dl);
  CHECK(e == 0, "joining the waiter: %s (it did not wake up)", strerror(e));
  CHECK(woke && r == (void*)42, "the waiter returned %p", r);
  pass();
}
