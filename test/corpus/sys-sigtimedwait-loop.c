/* sigtimedwait with a 400 ms timeout for a signal nobody sends, in a loop until the go line (read
 * by a thread): every call that spans the checkpoint must end with EAGAIN (its timeout) after
 * >= 0.4 s — never EINTR, never early, never lost (a lost timeout never returns). Then a SIGUSR1
 * the thread queues after the go line is taken with its value. */
#include "corpus.h"

static void send_usr1(void) {
  union sigval v = {.sival_int = 11};
  if (sigqueue(getpid(), SIGUSR1, v)) fail("sigqueue: %s", strerror(errno));
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  ready();
  line_thread(send_usr1);
  int rounds = 0;
  for (;;) {
    struct timespec to = {0, 400000000};
    siginfo_t si;
    double t0 = now_mono();
    int r = sigtimedwait(&s, &si, &to);
    double dt = now_mono() - t0;
    if (r == SIGUSR1) {
      CHECK(line_seen, "SIGUSR1 before the go line");
      CHECK(si.si_code == SI_QUEUE && si.si_value.sival_int == 11 && si.si_pid == getpid(),
            "SIGUSR1: code %d value %d pid %d", si.si_code, si.si_value.sival_int, (int)si.si_pid);
      break;
    }
    CHECK(r == -1 && errno == EAGAIN, "sigtimedwait round %d: %d (%s) after %.3f s", rounds, r, strerror(errno), dt);
    CHECK(dt >= 0.399, "sigtimedwait round %d timed out after %.3f s, asked 0.4 s", rounds, dt);
    rounds++;
  }
  pass();
}
