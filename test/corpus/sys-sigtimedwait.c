/* The main thread waits in sigtimedwait({SIGUSR1}, 60 s) with SIGUSR1 blocked everywhere; only the
 * go line (read by another thread, which then sigqueues SIGUSR1 with value 4711) may end it. It
 * must return SIGUSR1 with that value and our pid, never EINTR or EAGAIN. */
#include "corpus.h"

static void post(void) {
  if (sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 4711})) fail("sigqueue: %s", strerror(errno));
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  SYS(sigprocmask(SIG_BLOCK, &s, NULL));
  ready();
  line_thread(post);
  siginfo_t si;
  struct timespec to = {60, 0};
  int r = sigtimedwait(&s, &si, &to);
  CHECK(r >= 0, "sigtimedwait: %s", strerror(errno));
  CHECK(line_seen, "sigtimedwait returned before the go line");
  CHECK(r == SIGUSR1, "sigtimedwait returned %d", r);
  CHECK(si.si_code == SI_QUEUE && si.si_value.sival_int == 4711, "si_code %d value %d, want SI_QUEUE 4711", si.si_code, si.si_value.sival_int);
  CHECK(si.si_pid == getpid(), "si_pid %d, want our pid %d", (int)si.si_pid, (int)getpid());
  pass();
}
