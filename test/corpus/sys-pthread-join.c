/* The main thread blocks in pthread_join on a thread that reads the go line and returns a value;
 * pthread_join waits on the thread's tid word (cleared by the kernel at the thread's exit, through
 * set_tid_address): it must return 0 with the thread's value, only after the go line, and a second
 * thread created and joined after it works the same. */
#include "corpus.h"

static void* lineman(void* u) {
  (void)u;
  read_line();
  __atomic_store_n(&line_seen, 1, __ATOMIC_SEQ_CST);
  return (void*)(intptr_t)4242;
}
static void* quick(void* u) { return (void*)((intptr_t)u + 1); }

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, lineman, NULL)) fail("pthread_create");
  ready();
  void* rv = NULL;
  int e = pthread_join(t, &rv);
  CHECK(e == 0, "pthread_join: %s", strerror(e));
  CHECK(line_seen, "pthread_join returned before the thread read the go line");
  CHECK((intptr_t)rv == 4242, "pthread_join's value %ld, want 4242", (long)(intptr_t)rv);
  for (int i = 0; i < 20; i++) {
    pthread_t q;
    CHECK(pthread_create(&q, NULL, quick, (void*)(intptr_t)i) == 0, "pthread_create %d", i);
    CHECK(pthread_join(q, &rv) == 0 && (intptr_t)rv == i + 1, "join of new thread %d: %ld", i, (long)(intptr_t)rv);
  }
  pass();
}
