/* Thread-specific data: two pthread keys (one with a destructor) and a __thread variable, each
 * thread with its own values; a key deleted before the checkpoint. After restart each thread reads
 * its own values, a new key does not reuse a live one, and at thread exit the destructor runs once
 * per thread with that thread's value. */
#include "corpus.h"

#define T 3
static pthread_key_t k1, k2, gone;
static __thread long tl = -1;
static volatile int destroyed[T + 1], ok[T], go, set[T];

static void dtor(void* v) { destroyed[(intptr_t)v - 100]++; }

static void* worker(void* u) {
  int i = (int)(intptr_t)u;
  pthread_setspecific(k1, (void*)(intptr_t)(100 + i));
  pthread_setspecific(k2, (void*)(intptr_t)(200 + i));
  tl = 300 + i;
  set[i] = 1;
  while (!go) usleep(1000);
  ok[i] = pthread_getspecific(k1) == (void*)(intptr_t)(100 + i) && pthread_getspecific(k2) == (void*)(intptr_t)(200 + i) &&
          tl == 300 + i;
  return NULL;
}

int main(void) {
  if (pthread_key_create(&k1, dtor) || pthread_key_create(&k2, NULL) || pthread_key_create(&gone, NULL)) fail("pthread_key_create");
  pthread_key_delete(gone);
  pthread_setspecific(k1, (void*)(intptr_t)(100 + T));
  pthread_setspecific(k2, (void*)(intptr_t)(200 + T));
  tl = 300 + T;
  pthread_t t[T];
  for (int i = 0; i < T; i++)
    if (pthread_create(&t[i], NULL, worker, (void*)(intptr_t)i)) fail("pthread_create");
  for (int i = 0; i < T; i++)
    while (!set[i]) usleep(1000);

  ready_wait();

  CHECK(pthread_getspecific(k1) == (void*)(intptr_t)(100 + T) && pthread_getspecific(k2) == (void*)(intptr_t)(200 + T),
        "the main thread's key values changed");
  CHECK(tl == 300 + T, "the main thread's __thread value is %ld", tl);
  pthread_key_t k3;
  CHECK(!pthread_key_create(&k3, NULL), "pthread_key_create after restart");
  CHECK(k3 != k1 && k3 != k2, "a new key %u reuses a live one (%u %u)", k3, k1, k2);
  CHECK(pthread_getspecific(k3) == NULL, "a new key has a value");
  go = 1;
  for (int i = 0; i < T; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < T; i++) {
    CHECK(ok[i], "thread %d read other values after restart", i);
    CHECK(destroyed[i] == 1, "thread %d's destructor ran %d times, want 1", i, destroyed[i]);
  }
  CHECK(destroyed[T] == 0, "the main thread's destructor ran");
  pass();
}
