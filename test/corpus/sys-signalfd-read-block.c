/* read() on a signalfd for SIGUSR1 (blocked), across the checkpoint; a forked child reads the go
 * line and then sends SIGUSR1 to us with sigqueue (value 99). read must return one
 * signalfd_siginfo with ssi_pid == the pid fork returned, SI_QUEUE, value 99; never EINTR. */
#include "corpus.h"
#include <sys/signalfd.h>

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  int sfd = SYS(signalfd(-1, &s, 0));
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    read_line();
    union sigval v = {.sival_int = 99};
    if (sigqueue(getppid(), SIGUSR1, v)) _exit(3);
    pause();
    _exit(0);
  }
  peer(kid);
  struct signalfd_siginfo si;
  memset(&si, 0, sizeof si);
  ssize_t n = read(sfd, &si, sizeof si);
  CHECK(n >= 0, "read(signalfd): %s", strerror(errno));
  CHECK(n == sizeof si && si.ssi_signo == SIGUSR1, "read(signalfd) = %zd signo %u", n, si.ssi_signo);
  CHECK(si.ssi_pid == (uint32_t)kid && si.ssi_code == SI_QUEUE && si.ssi_int == 99,
        "signalfd: ssi_pid %u (child %d) code %d int %d", si.ssi_pid, (int)kid, si.ssi_code, si.ssi_int);
  CHECK(si.ssi_uid == getuid(), "ssi_uid %u, getuid %u", si.ssi_uid, getuid());
  pass();
}
