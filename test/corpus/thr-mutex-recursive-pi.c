/* A recursive mutex (locked twice) and a priority-inheritance mutex held by a thread across the
 * checkpoint: glibc wrote the owner's kernel tid into both (the owner field, and the PI mutex's
 * lock word). After restart the owner relocks the recursive one (a third level, not a deadlock),
 * unlocks it three times and the PI one once, all succeeding; a non-owner's unlocks are EPERM
 * before, and main then takes both. */
#include "corpus.h"

static pthread_mutex_t rec, pi;
static int q[2], a[2];

static void* owner(void* u) {
  (void)u;
  pthread_mutex_lock(&rec);
  pthread_mutex_lock(&rec);
  pthread_mutex_lock(&pi);
  write_all(a[1], "L", 1);
  char c;
  if (read(q[0], &c, 1) != 1) return NULL;
  int r[5];
  r[0] = pthread_mutex_trylock(&rec);
  r[1] = pthread_mutex_unlock(&rec);
  r[2] = pthread_mutex_unlock(&rec);
  r[3] = pthread_mutex_unlock(&rec);
  r[4] = pthread_mutex_unlock(&pi);
  write_all(a[1], r, sizeof r);
  return NULL;
}

int main(void) {
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&rec, &at);
  pthread_mutexattr_t ap;
  pthread_mutexattr_init(&ap);
  pthread_mutexattr_setprotocol(&ap, PTHREAD_PRIO_INHERIT);
  pthread_mutexattr_settype(&ap, PTHREAD_MUTEX_ERRORCHECK);
  if (pthread_mutex_init(&pi, &ap)) skip("no PI mutexes here");
  SYS(pipe(q));
  SYS(pipe(a));
  pthread_t t;
  if (pthread_create(&t, NULL, owner, NULL)) fail("pthread_create");
  char c;
  read_exact(a[0], &c, 1, "locked");

  ready_wait();

  int e = pthread_mutex_trylock(&rec);
  CHECK(e == EBUSY, "trylock of the recursive mutex by a non-owner: %s, want EBUSY", e ? strerror(e) : "got it");
  e = pthread_mutex_unlock(&rec);
  CHECK(e == EPERM, "unlock of the recursive mutex by a non-owner: %s, want EPERM", e ? strerror(e) : "succeeded");
  e = pthread_mutex_unlock(&pi);
  CHECK(e == EPERM, "unlock of the PI mutex by a non-owner: %s, want EPERM", e ? strerror(e) : "succeeded");
  write_all(q[1], "u", 1);
  int r[5];
  read_exact(a[0], r, sizeof r, "owner results");
  CHECK(r[0] == 0, "the owner's third lock of the recursive mutex: %s", strerror(r[0]));
  for (int i = 1; i <= 3; i++) CHECK(r[i] == 0, "the owner's unlock %d of the recursive mutex: %s", i, strerror(r[i]));
  CHECK(r[4] == 0, "the owner's unlock of the PI mutex: %s", strerror(r[4]));
  pthread_join(t, NULL);
  CHECK(pthread_mutex_trylock(&rec) == 0, "main cannot take the recursive mutex after the owner released it");
  CHECK(pthread_mutex_trylock(&pi) == 0, "main cannot take the PI mutex after the owner released it");
  pass();
}
