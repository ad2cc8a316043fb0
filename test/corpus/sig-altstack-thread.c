/* Alternate signal stacks are per thread: a second thread has its own 32 KiB sigaltstack (the main
 * thread has none), and SIGUSR1's handler is SA_ONSTACK. After restart the second thread's
 * sigaltstack reads back its stack, the main thread's still says SS_DISABLE, and a SIGUSR1 sent to
 * the second thread (pthread_kill) runs its handler on that thread's alternate stack. */
#include "corpus.h"

static char stk[32768];
static volatile int phase, on_alt = -1;
static volatile uintptr_t local_at;
static void on_usr1(int s) {
  (void)s;
  volatile char here;
  local_at = (uintptr_t)&here;
  stack_t cur;
  sigaltstack(NULL, &cur);
  on_alt = (cur.ss_flags & SS_ONSTACK) != 0;
}
static stack_t got;
static void* th(void* u) {
  (void)u;
  stack_t ss = {.ss_sp = stk, .ss_size = sizeof stk, .ss_flags = 0};
  if (sigaltstack(&ss, NULL)) return (void*)1;
  __atomic_store_n(&phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 2) usleep(1000);
  sigaltstack(NULL, &got);
  __atomic_store_n(&phase, 3, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 4) usleep(1000);
  return NULL;
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
  SYS(sigaction(SIGUSR1, &sa, NULL));
  pthread_t t;
  if (pthread_create(&t, NULL, th, NULL)) fail("pthread_create");
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 1) usleep(1000);

  ready_wait();

  stack_t mine;
  SYS(sigaltstack(NULL, &mine));
  CHECK(mine.ss_flags & SS_DISABLE, "the main thread has an alternate stack (%p, %zu)", mine.ss_sp, mine.ss_size);
  __atomic_store_n(&phase, 2, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 3) usleep(1000);
  CHECK(got.ss_sp == stk && got.ss_size == sizeof stk && !(got.ss_flags & SS_DISABLE), "the thread's alternate stack is %p/%zu flags %d, want %p/%zu",
        got.ss_sp, got.ss_size, got.ss_flags, (void*)stk, sizeof stk);
  CHECK(pthread_kill(t, SIGUSR1) == 0, "pthread_kill");
  double s = now_mono();
  while (on_alt < 0 && now_mono() - s < 5) usleep(1000);
  CHECK(on_alt == 1, "the handler in the thread %s", on_alt < 0 ? "did not run" : "did not run on the alternate stack");
  CHECK(local_at >= (uintptr_t)stk && local_at < (uintptr_t)stk + sizeof stk, "the handler's frame is not on the thread's alternate stack");
  __atomic_store_n(&phase, 4, __ATOMIC_SEQ_CST);
  pthread_join(t, NULL);
  pass();
}
