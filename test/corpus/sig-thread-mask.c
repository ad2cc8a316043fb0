/* Per-thread signal masks: the main thread blocks SIGUSR1, a second thread blocks SIGUSR2 and
 * SIGRTMIN+5, a third blocks nothing. After restart each thread's pthread_sigmask reads back its
 * own set (not the main thread's, not empty), and a SIGUSR1 sent to the process is handled by a
 * thread that does not block it. */
#include "corpus.h"

static volatile int phase;
static sigset_t seen[3];
static volatile pid_t handled_by;
static void on_usr1(int s) { (void)s; handled_by = gettid(); }

static void* th(void* u) {
  int i = (int)(intptr_t)u;
  sigset_t s;
  sigemptyset(&s);
  if (i == 1) {
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGRTMIN + 5);
  }
  pthread_sigmask(SIG_SETMASK, &s, NULL);
  __atomic_add_fetch(&phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 10) usleep(1000);
  pthread_sigmask(SIG_BLOCK, NULL, &seen[i]);
  __atomic_add_fetch(&phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 20) usleep(1000);
  return NULL;
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_usr1};
  SYS(sigaction(SIGUSR1, &sa, NULL));
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  SYS(pthread_sigmask(SIG_SETMASK, &m, NULL));
  pthread_t t[2];
  for (int i = 1; i <= 2; i++)
    if (pthread_create(&t[i - 1], NULL, th, (void*)(intptr_t)i)) fail("pthread_create");
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 2) usleep(1000);

  ready_wait();

  __atomic_store_n(&phase, 10, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 12) usleep(1000);
  pthread_sigmask(SIG_BLOCK, NULL, &seen[0]);
  int want[3][3] = {{1, 0, 0}, {0, 1, 1}, {0, 0, 0}}; /* SIGUSR1, SIGUSR2, SIGRTMIN+5 */
  int sigs[3] = {SIGUSR1, SIGUSR2, SIGRTMIN + 5};
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 3; k++)
      CHECK(sigismember(&seen[i], sigs[k]) == want[i][k], "thread %d: signal %d %s blocked", i, sigs[k], want[i][k] ? "is not" : "is");
  SYS(kill(getpid(), SIGUSR1));
  double s = now_mono();
  while (!handled_by && now_mono() - s < 5) usleep(1000);
  CHECK(handled_by && handled_by != getpid(), "SIGUSR1 %s", handled_by ? "was handled by the main thread, which blocks it" : "was not handled");
  __atomic_store_n(&phase, 20, __ATOMIC_SEQ_CST);
  pass();
}
