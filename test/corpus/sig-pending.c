/* Pending signals: SIGUSR1 (blocked, raised once) and two queued SIGRTMIN+1 with values 111 and
 * 222 (blocked). After restart sigpending shows both, and sigwaitinfo consumes exactly: SIGUSR1,
 * then SIGRTMIN+1 value 111, then SIGRTMIN+1 value 222 (queued in order), each sent by our pid;
 * then nothing is left. */
#include "corpus.h"

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGRTMIN + 1);
  SYS(sigprocmask(SIG_BLOCK, &s, NULL));
  SYS(kill(getpid(), SIGUSR1));
  SYS(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 111}));
  SYS(sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 222}));

  ready_wait();

  sigset_t p;
  SYS(sigpending(&p));
  CHECK(sigismember(&p, SIGUSR1), "SIGUSR1 is no longer pending");
  CHECK(sigismember(&p, SIGRTMIN + 1), "SIGRTMIN+1 is no longer pending");
  int want[3] = {SIGUSR1, SIGRTMIN + 1, SIGRTMIN + 1}, val[3] = {0, 111, 222};
  for (int i = 0; i < 3; i++) {
    siginfo_t si;
    struct timespec z = {0, 0};
    int r = sigtimedwait(&s, &si, &z);
    CHECK(r >= 0, "signal %d of 3: %s (lost)", i + 1, strerror(errno));
    CHECK(r == want[i], "signal %d is %d, want %d", i + 1, r, want[i]);
    if (i) CHECK(si.si_code == SI_QUEUE && si.si_value.sival_int == val[i], "signal %d: code %d value %d, want SI_QUEUE %d", i + 1, si.si_code,
                 si.si_value.sival_int, val[i]);
    CHECK(si.si_pid == getpid(), "signal %d sent by %d, want our pid %d", i + 1, (int)si.si_pid, (int)getpid());
  }
  siginfo_t si;
  struct timespec z = {0, 0};
  CHECK(sigtimedwait(&s, &si, &z) < 0 && errno == EAGAIN, "a fourth signal was pending");
  pass();
}
