/* An error-checking mutex locked by a second thread across the checkpoint. After restart the main
 * thread cannot take it (trylock EBUSY) nor unlock it (EPERM: not the owner); the owner thread
 * unlocks it (0, not EPERM), relocks it, and a second lock from it gives EDEADLK. */
#include "corpus.h"

static pthread_mutex_t mu;
static int q[2], a[2];

static void* owner(void* u) {
  (void)u;
  pthread_mutex_lock(&mu);
  write_all(a[1], "L", 1);
  char c;
  if (read(q[0], &c, 1) != 1) return NULL;
  int r[3];
  r[0] = pthread_mutex_unlock(&mu);
  r[1] = pthread_mutex_lock(&mu);
  r[2] = pthread_mutex_lock(&mu);
  pthread_mutex_unlock(&mu);
  write_all(a[1], r, sizeof r);
  return NULL;
}

int main(void) {
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&mu, &at);
  SYS(pipe(q));
  SYS(pipe(a));
  pthread_t t;
  if (pthread_create(&t, NULL, owner, NULL)) fail("pthread_create");
  char c;
  read_exact(a[0], &c, 1, "locked");

  ready_wait();

  int e = pthread_mutex_trylock(&mu);
  CHECK(e == EBUSY, "trylock by a non-owner: %s, want EBUSY", e ? strerror(e) : "got it");
  e = pthread_mutex_unlock(&mu);
  CHECK(e == EPERM, "unlock by a non-owner: %s, want EPERM", e ? strerror(e) : "succeeded");
  write_all(q[1], "u", 1);
  int r[3];
  read_exact(a[0], r, sizeof r, "owner results");
  CHECK(r[0] == 0, "the owner's unlock: %s, want success", strerror(r[0]));
  CHECK(r[1] == 0, "the owner's relock: %s", strerror(r[1]));
  CHECK(r[2] == EDEADLK, "the owner's second lock: %s, want EDEADLK", r[2] ? strerror(r[2]) : "succeeded");
  pthread_join(t, NULL);
  e = pthread_mutex_lock(&mu);
  CHECK(e == 0, "main lock after the owner released: %s", strerror(e));
  pass();
}
