/* A pthread rwlock write-locked by a second thread across the checkpoint (glibc writes the
 * writer's kernel tid into the lock, __cur_writer, and tells a writer's unlock from a reader's by
 * comparing it with the caller's tid). After restart the main thread can neither read- nor
 * write-lock it (EBUSY), the writer's second wrlock is a deadlock (EDEADLK), the writer's unlock
 * releases it as a write unlock, and then the main thread write-locks and read-locks it. */
#include "corpus.h"

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static volatile int held, go, relock = -1, unl = -1, done;

static void* writer(void* u) {
  (void)u;
  if (pthread_rwlock_wrlock(&rw)) return NULL;
  held = 1;
  while (!go) usleep(1000);
  relock = pthread_rwlock_trywrlock(&rw);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 2;
  int e = pthread_rwlock_timedwrlock(&rw, &dl);
  if (relock == EBUSY && e == EDEADLK) relock = EDEADLK;
  unl = pthread_rwlock_unlock(&rw);
  done = 1;
  return NULL;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, writer, NULL)) fail("pthread_create");
  while (!held) usleep(1000);

  ready_wait();

  int e = pthread_rwlock_tryrdlock(&rw);
  CHECK(e == EBUSY, "tryrdlock while another thread writes: %s, want EBUSY", strerror(e));
  e = pthread_rwlock_trywrlock(&rw);
  CHECK(e == EBUSY, "trywrlock while another thread writes: %s, want EBUSY", strerror(e));
  go = 1;
  double s = now_mono();
  while (!done && now_mono() - s < 5) usleep(1000);
  CHECK(done, "the writer did not finish");
  CHECK(relock == EDEADLK, "the writer's own second wrlock: %s, want EDEADLK (glibc no longer sees it as the writer)",
        relock > 0 ? strerror(relock) : "0");
  CHECK(unl == 0, "the writer's unlock: %s", strerror(unl));
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 3;
  e = pthread_rwlock_timedwrlock(&rw, &dl);
  CHECK(e == 0, "wrlock after the writer unlocked: %s", strerror(e));
  CHECK(pthread_rwlock_unlock(&rw) == 0, "unlock");
  e = pthread_rwlock_tryrdlock(&rw);
  CHECK(e == 0, "rdlock after the writer unlocked: %s", strerror(e));
  e = pthread_rwlock_trywrlock(&rw);
  CHECK(e == EBUSY, "trywrlock while we read: %s, want EBUSY", strerror(e));
  CHECK(pthread_rwlock_unlock(&rw) == 0, "read unlock");
  e = pthread_rwlock_trywrlock(&rw);
  CHECK(e == 0, "trywrlock on a free lock: %s", strerror(e));
  pthread_join(t, NULL);
  pass();
}
