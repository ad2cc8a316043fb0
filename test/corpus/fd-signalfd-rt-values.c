/* A signalfd for three real-time signals (blocked) with 12 queued by sigqueue, interleaved, each
 * carrying its own value (sival_int): after restart reads from the signalfd return them lowest
 * signal first and, within one signal, in the order sent, each with its value (ssi_int), SI_QUEUE
 * and our pid as sender; then nothing is left (EAGAIN). */
#include "corpus.h"
#include <sys/signalfd.h>

int main(void) {
  int sigs[3] = {SIGRTMIN + 4, SIGRTMIN + 2, SIGRTMIN + 6};
  sigset_t m;
  sigemptyset(&m);
  for (int i = 0; i < 3; i++) sigaddset(&m, sigs[i]);
  SYS(sigprocmask(SIG_BLOCK, &m, NULL));
  int fd = SYS(signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC));
  for (int i = 0; i < 12; i++) {
    union sigval v = {.sival_int = 1000 + i};
    SYS(sigqueue(getpid(), sigs[i % 3], v));
  }

  ready_wait();

  /* expected order: by signal number, then by sending order */
  int order[3] = {1, 0, 2}; /* RTMIN+2, RTMIN+4, RTMIN+6 */
  for (int k = 0; k < 3; k++) {
    int si = order[k];
    for (int j = si; j < 12; j += 3) {
      struct signalfd_siginfo f;
      ssize_t n = read(fd, &f, sizeof f);
      CHECK(n == (ssize_t)sizeof f, "read %d of the signalfd: %zd (%s)", k * 4 + j / 3, n, n < 0 ? strerror(errno) : "short");
      CHECK((int)f.ssi_signo == sigs[si], "signal %d read, want SIGRTMIN+%d", (int)f.ssi_signo - SIGRTMIN, sigs[si] - SIGRTMIN);
      CHECK(f.ssi_int == 1000 + j, "SIGRTMIN+%d carries %d, want %d (sent %d-th)", sigs[si] - SIGRTMIN, f.ssi_int, 1000 + j, j);
      CHECK(f.ssi_code == SI_QUEUE, "ssi_code %d, want SI_QUEUE", f.ssi_code);
      CHECK((pid_t)f.ssi_pid == getpid(), "ssi_pid %u, want our pid %d", f.ssi_pid, (int)getpid());
    }
  }
  struct signalfd_siginfo f;
  ssize_t n = read(fd, &f, sizeof f);
  CHECK(n < 0 && errno == EAGAIN, "a 13th signal was read (signo %d)", n > 0 ? (int)f.ssi_signo : 0);
  pass();
}
