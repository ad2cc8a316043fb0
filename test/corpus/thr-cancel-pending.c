/* A cancellation requested while the thread had cancellation disabled (PTHREAD_CANCEL_DISABLE):
 * pending, not acted on. After restart the thread is still running; when it enables cancellation
 * again, its next cancellation point (pthread_testcancel) ends it: pthread_join returns
 * PTHREAD_CANCELED, and a thread with no request pending goes on through the same point. */
#include "corpus.h"

static volatile int go, reached[2], ran_past[2];

static void* worker(void* u) {
  int i = (int)(intptr_t)u;
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  reached[i] = 1;
  while (!go) usleep(1000);
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
  pthread_testcancel();
  ran_past[i] = 1;
  return (void*)(intptr_t)7;
}

int main(void) {
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    if (pthread_create(&t[i], NULL, worker, (void*)(intptr_t)i)) fail("pthread_create");
  while (!reached[0] || !reached[1]) usleep(1000);
  int e = pthread_cancel(t[0]);
  if (e) fail("setup: pthread_cancel: %s", strerror(e));

  ready_wait();

  CHECK(!ran_past[0] && !ran_past[1], "a thread ran on before it was let go");
  go = 1;
  void* r0 = NULL, *r1 = NULL;
  CHECK(!pthread_join(t[0], &r0) && !pthread_join(t[1], &r1), "pthread_join failed");
  CHECK(r0 == PTHREAD_CANCELED, "the thread with a pending cancel ended with %p (ran on: %d), want PTHREAD_CANCELED", r0,
        ran_past[0]);
  CHECK(r1 == (void*)7 && ran_past[1], "the thread without a cancel ended with %p", r1);
  pass();
}
