/* The pthread object wrappers (pthread_mutex_*, pthread_cond_*, pthread_rwlock_*) on invalid
 * values and in every error state, with objects held across the checkpoint by this thread and by
 * another one (the owner fields hold kernel tids, which a restart changes): the errors glibc gives
 * without amber, before the checkpoint and after the restart. */
#include "efault.h"

static pthread_mutex_t ec, pi, rec, other_ec, other_pi, free_ec;
static pthread_rwlock_t rw_mine = PTHREAD_RWLOCK_INITIALIZER, rw_other = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int holder_ready;

static void init_mutex(pthread_mutex_t* m, int type, int proto) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, type);
  pthread_mutexattr_setprotocol(&a, proto);
  int e = pthread_mutex_init(m, &a);
  if (e) fail("pthread_mutex_init: %s", strerror(e));
}

static void* holder(void* u) {
  (void)u;
  if (pthread_mutex_lock(&other_ec) || pthread_mutex_lock(&other_pi) || pthread_rwlock_wrlock(&rw_other))
    fail("holder: cannot take its locks");
  __atomic_store_n(&holder_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
}

static void checks(void) {
  struct timespec past = {1, 0}, badns = {0, 2000000000L}, negns = {0, -1};
  TEN(pthread_mutex_lock(&ec), EDEADLK);
  TEN(pthread_mutex_trylock(&ec), EBUSY);
  TEN(pthread_mutex_timedlock(&ec, &past), EDEADLK);
  TEN(pthread_mutex_lock(&pi), EDEADLK);
  TEN(pthread_mutex_trylock(&pi), EDEADLK); /* glibc: a PI error-checking mutex says so on trylock too */
  TEN(pthread_mutex_timedlock(&pi, &past), EDEADLK);
  TEN(pthread_mutex_trylock(&rec), 0);
  TEN(pthread_mutex_unlock(&rec), 0);
  TEN(pthread_mutex_lock(&rec), 0);
  TEN(pthread_mutex_unlock(&rec), 0);
  TEN(pthread_mutex_unlock(&free_ec), EPERM);
  TEN(pthread_mutex_unlock(&other_ec), EPERM);
  TEN(pthread_mutex_unlock(&other_pi), EPERM);
  TEN(pthread_mutex_trylock(&other_ec), EBUSY);
  TEN(pthread_mutex_trylock(&other_pi), EBUSY);
  TEN(pthread_mutex_timedlock(&other_ec, &past), ETIMEDOUT);
  TEN(pthread_mutex_timedlock(&other_pi, &past), ETIMEDOUT);
  TEN(pthread_mutex_timedlock(&other_ec, &badns), EINVAL);
  TEN(pthread_mutex_timedlock(&other_pi, &negns), EINVAL);
  TEN(pthread_mutex_clocklock(&other_ec, 99, &past), EINVAL);
  TEN(pthread_mutex_clocklock(&other_ec, CLOCK_MONOTONIC, &past), ETIMEDOUT);

  /* condition variables: the mutex is ours (ec) */
  TEN(pthread_cond_timedwait(&cv, &ec, &badns), EINVAL);
  TEN(pthread_cond_timedwait(&cv, &ec, &negns), EINVAL);
  TEN(pthread_cond_timedwait(&cv, &ec, &past), ETIMEDOUT);
  TEN(pthread_cond_clockwait(&cv, &ec, 99, &past), EINVAL);
  TEN(pthread_cond_clockwait(&cv, &ec, CLOCK_MONOTONIC, &past), ETIMEDOUT);
  TEN(pthread_cond_timedwait(&cv, &pi, &past), ETIMEDOUT);
  TEN(pthread_mutex_lock(&ec), EDEADLK);
  TEN(pthread_mutex_lock(&pi), EDEADLK);
  TEN(pthread_cond_signal(&cv), 0);
  TEN(pthread_cond_broadcast(&cv), 0);

  /* rwlocks */
  TEN(pthread_rwlock_wrlock(&rw_mine), EDEADLK);
  TEN(pthread_rwlock_rdlock(&rw_mine), EDEADLK);
  TEN(pthread_rwlock_trywrlock(&rw_mine), EBUSY);
  TEN(pthread_rwlock_tryrdlock(&rw_mine), EBUSY);
  TEN(pthread_rwlock_timedwrlock(&rw_mine, &past), EDEADLK);
  TEN(pthread_rwlock_timedrdlock(&rw_mine, &past), EDEADLK);
  TEN(pthread_rwlock_trywrlock(&rw_other), EBUSY);
  TEN(pthread_rwlock_tryrdlock(&rw_other), EBUSY);
  TEN(pthread_rwlock_timedwrlock(&rw_other, &past), ETIMEDOUT);
  TEN(pthread_rwlock_timedrdlock(&rw_other, &past), ETIMEDOUT);
  TEN(pthread_rwlock_timedrdlock(&rw_other, &badns), EINVAL);
  TEN(pthread_rwlock_timedwrlock(&rw_other, &negns), EINVAL);
  TEN(pthread_rwlock_clockwrlock(&rw_other, 99, &past), EINVAL);
  TEN(pthread_rwlock_clockrdlock(&rw_other, CLOCK_MONOTONIC, &past), ETIMEDOUT);
}

int main(void) {
  init_mutex(&ec, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_NONE);
  init_mutex(&pi, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_INHERIT);
  init_mutex(&rec, PTHREAD_MUTEX_RECURSIVE, PTHREAD_PRIO_NONE);
  init_mutex(&other_ec, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_NONE);
  init_mutex(&other_pi, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_INHERIT);
  init_mutex(&free_ec, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_PRIO_NONE);
  if (pthread_mutex_lock(&ec) || pthread_mutex_lock(&pi) || pthread_mutex_lock(&rec) || pthread_rwlock_wrlock(&rw_mine))
    fail("cannot take the main thread's locks");
  pthread_t t;
  int e = pthread_create(&t, NULL, holder, NULL);
  if (e) fail("pthread_create: %s", strerror(e));
  while (!__atomic_load_n(&holder_ready, __ATOMIC_SEQ_CST)) usleep(1000);
  ef_in_child = 0; /* the holder thread does not exist in a child */
  return efault_main();
}
