/* A signal pending on one thread only: SIGUSR2 sent with pthread_kill (tgkill) to a thread that
 * blocks it. After restart the main thread does not see it pending, the target thread does, and
 * sigtimedwait in that thread returns it, sent by our pid. */
#include "corpus.h"

static int q[2], a[2];

static void* target(void* u) {
  (void)u;
  char c;
  if (read(q[0], &c, 1) != 1) return NULL;
  sigset_t p, s;
  sigpending(&p);
  char r[2] = {(char)sigismember(&p, SIGUSR2), 0};
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  siginfo_t si;
  struct timespec z = {0, 0};
  int sig = sigtimedwait(&s, &si, &z);
  r[1] = (char)(sig == SIGUSR2 && si.si_pid == getpid() ? 1 : sig == SIGUSR2 ? 2 : 0);
  write_all(a[1], r, 2);
  return NULL;
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  SYS(sigprocmask(SIG_BLOCK, &s, NULL));
  SYS(pipe(q));
  SYS(pipe(a));
  pthread_t t;
  if (pthread_create(&t, NULL, target, NULL)) fail("pthread_create");
  if (pthread_kill(t, SIGUSR2)) fail("pthread_kill");

  ready_wait();

  sigset_t p;
  SYS(sigpending(&p));
  CHECK(!sigismember(&p, SIGUSR2), "SIGUSR2 is pending for the main thread (it was sent to the other thread only)");
  write_all(q[1], "?", 1);
  char r[2];
  read_exact(a[0], r, 2, "the thread's answer");
  CHECK(r[0] == 1, "SIGUSR2 is not pending in the target thread");
  CHECK(r[1] != 0, "sigtimedwait in the target thread did not return SIGUSR2");
  CHECK(r[1] == 1, "SIGUSR2 in the target thread has another sender than our pid");
  pthread_join(t, NULL);
  pass();
}
