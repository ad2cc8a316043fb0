/* A pthread barrier of 3: two threads wait in it across the checkpoint (a futex wait). After
 * restart neither has passed it; the main thread arrives and all three pass, exactly one with
 * PTHREAD_BARRIER_SERIAL_THREAD, and the barrier works for a second round. */
#include "corpus.h"

static pthread_barrier_t b;
static volatile int arrived, passed, serial;

static void* th(void* u) {
  (void)u;
  for (int round = 0; round < 2; round++) {
    __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
    int r = pthread_barrier_wait(&b);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_add_fetch(&serial, 1, __ATOMIC_SEQ_CST);
    else if (r) return (void*)1;
    __atomic_add_fetch(&passed, 1, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

int main(void) {
  pthread_barrier_init(&b, NULL, 3);
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, th, NULL)) fail("pthread_create");
  while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < 2) usleep(1000);
  usleep(20000);

  ready_wait();

  CHECK(passed == 0, "%d threads passed the barrier before the third arrived", passed);
  for (int round = 0; round < 2; round++) {
    int r = pthread_barrier_wait(&b);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD) __atomic_add_fetch(&serial, 1, __ATOMIC_SEQ_CST);
    else CHECK(r == 0, "pthread_barrier_wait: %s", strerror(r));
  }
  for (int i = 0; i < 2; i++) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    void* rv;
    int e = pthread_timedjoin_np(t[i], &rv, &dl);
    CHECK(e == 0, "thread %d is stuck in the barrier: %s", i, strerror(e));
    CHECK(rv == NULL, "thread %d: pthread_barrier_wait failed", i);
  }
  CHECK(passed == 4 && serial == 2, "passed %d (want 4), serial threads %d (want 2: one per round)", passed, serial);
  pass();
}
