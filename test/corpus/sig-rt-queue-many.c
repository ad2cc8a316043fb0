/* Many queued real-time signals: 30 sigqueue'd while blocked, interleaved over SIGRTMIN+1,
 * SIGRTMIN+3 and SIGRTMIN+2, each with its own value. After restart sigwaitinfo takes them lowest
 * signal number first and, within one signal, in the order sent, each with its value, si_code
 * SI_QUEUE and our pid and uid as sender; then none is left. */
#include "corpus.h"

int main(void) {
  int sigs[3] = {SIGRTMIN + 1, SIGRTMIN + 3, SIGRTMIN + 2};
  sigset_t s;
  sigemptyset(&s);
  for (int i = 0; i < 3; i++) sigaddset(&s, sigs[i]);
  SYS(sigprocmask(SIG_BLOCK, &s, NULL));
  for (int i = 0; i < 30; i++) SYS(sigqueue(getpid(), sigs[i % 3], (union sigval){.sival_int = 1000 + i}));

  ready_wait();

  int order[3] = {SIGRTMIN + 1, SIGRTMIN + 2, SIGRTMIN + 3};
  int first[3] = {0, 2, 1}; /* the index i%3 each signal was sent at */
  for (int k = 0; k < 3; k++) {
    for (int j = 0; j < 10; j++) {
      siginfo_t si;
      struct timespec z = {0, 0};
      int sig = sigtimedwait(&s, &si, &z);
      CHECK(sig > 0, "signal %d of 30: none left (%s)", k * 10 + j + 1, strerror(errno));
      int want = 1000 + first[k] + 3 * j;
      CHECK(sig == order[k] && si.si_value.sival_int == want, "signal %d of 30: SIGRTMIN+%d value %d, want SIGRTMIN+%d value %d",
            k * 10 + j + 1, sig - SIGRTMIN, si.si_value.sival_int, order[k] - SIGRTMIN, want);
      CHECK(si.si_code == SI_QUEUE, "si_code %d, want SI_QUEUE", si.si_code);
      CHECK(si.si_pid == getpid() && si.si_uid == getuid(), "sender pid %d uid %d, want %d %d", (int)si.si_pid, (int)si.si_uid,
            (int)getpid(), (int)getuid());
    }
  }
  sigset_t p;
  SYS(sigpending(&p));
  for (int i = 0; i < 3; i++) CHECK(!sigismember(&p, sigs[i]), "SIGRTMIN+%d still pending", sigs[i] - SIGRTMIN);
  pass();
}
