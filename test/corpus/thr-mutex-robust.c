/* Robust mutexes held by threads across the checkpoint. After restart: the thread holding A
 * unlocks it normally (0); the thread holding B exits without unlocking, so the main thread's lock
 * of B returns EOWNERDEAD (the kernel walked the dead thread's robust list), pthread_mutex_consistent
 * makes it usable and unlock works. */
#include "corpus.h"

static pthread_mutex_t A, B;
static int qa[2], qb[2], ack[2];

static void* hold_a(void* u) {
  (void)u;
  pthread_mutex_lock(&A);
  write_all(ack[1], "a", 1);
  char c;
  if (read(qa[0], &c, 1) != 1) return NULL;
  int r = pthread_mutex_unlock(&A);
  write_all(ack[1], &r, sizeof r);
  return NULL;
}

static void* hold_b(void* u) {
  (void)u;
  pthread_mutex_lock(&B);
  write_all(ack[1], "b", 1);
  char c;
  if (read(qb[0], &c, 1) != 1) return NULL;
  return NULL; /* exits holding B */
}

int main(void) {
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&A, &at);
  pthread_mutex_init(&B, &at);
  SYS(pipe(qa));
  SYS(pipe(qb));
  SYS(pipe(ack));
  pthread_t ta, tb;
  if (pthread_create(&ta, NULL, hold_a, NULL) || pthread_create(&tb, NULL, hold_b, NULL)) fail("pthread_create");
  char c[2];
  read_exact(ack[0], c, 2, "both locked");

  ready_wait();

  int e = pthread_mutex_trylock(&A);
  CHECK(e == EBUSY, "trylock of A (held by a live thread): %s, want EBUSY", e ? strerror(e) : "got it");
  write_all(qa[1], "u", 1);
  int r;
  read_exact(ack[0], &r, sizeof r, "A unlocked");
  CHECK(r == 0, "the owner's unlock of A: %s", strerror(r));
  pthread_join(ta, NULL);
  write_all(qb[1], "x", 1);
  pthread_join(tb, NULL);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 5;
  e = pthread_mutex_timedlock(&B, &dl);
  CHECK(e != ETIMEDOUT, "locking B after its owner died: timed out (the robust list was not walked)");
  CHECK(e == EOWNERDEAD, "locking B after its owner died: %s, want EOWNERDEAD", e ? strerror(e) : "plain success");
  CHECK(pthread_mutex_consistent(&B) == 0, "pthread_mutex_consistent");
  CHECK(pthread_mutex_unlock(&B) == 0, "unlock of B");
  CHECK(pthread_mutex_lock(&A) == 0, "lock of A");
  pass();
}
