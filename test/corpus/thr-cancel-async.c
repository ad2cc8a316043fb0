/* A thread with PTHREAD_CANCEL_ASYNCHRONOUS spinning in a loop with no cancellation point. After
 * restart its cancel type still reads asynchronous (it reports it), and pthread_cancel stops it
 * mid-loop: pthread_join returns PTHREAD_CANCELED. */
#include "corpus.h"

static volatile long spins;
static volatile int type_seen = -1, ask;

static void* spinner(void* u) {
  (void)u;
  int old;
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
  for (;;) {
    spins++;
    if (ask) {
      /* reading the type is not a cancellation point */
      int t;
      pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &t);
      type_seen = t;
      ask = 0;
    }
  }
  return NULL;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, spinner, NULL)) fail("pthread_create");
  while (spins < 1000) usleep(1000);

  ready_wait();

  long s0 = spins;
  for (int i = 0; i < 5000 && spins == s0; i++) usleep(1000);
  CHECK(spins != s0, "the spinning thread does not run");
  ask = 1;
  for (int i = 0; i < 5000 && ask; i++) usleep(1000);
  CHECK(!ask, "the thread did not answer");
  CHECK(type_seen == PTHREAD_CANCEL_ASYNCHRONOUS, "its cancel type is %d, want PTHREAD_CANCEL_ASYNCHRONOUS", type_seen);
  int e = pthread_cancel(t);
  CHECK(!e, "pthread_cancel: %s", strerror(e));
  void* res = NULL;
  e = pthread_join(t, &res);
  CHECK(!e, "pthread_join: %s", strerror(e));
  CHECK(res == PTHREAD_CANCELED, "the thread ended with %p, want PTHREAD_CANCELED", res);
  pass();
}
