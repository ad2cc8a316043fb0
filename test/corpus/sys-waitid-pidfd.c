/* waitid(P_PIDFD) blocked on a pidfd (pidfd_open of our child) across the checkpoint; the child
 * reads the go line (the stdin it inherited) and exits 37. waitid must return 0 with si_pid == the
 * pid fork returned, CLD_EXITED, status 37; never EINTR or ECHILD. */
#include "corpus.h"
#include <sys/syscall.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int main(void) {
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    read_line();
    _exit(37);
  }
  peer(kid);
  int pfd = (int)syscall(SYS_pidfd_open, kid, 0);
  if (pfd < 0) fail("pidfd_open(%d): %s", (int)kid, strerror(errno));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid((idtype_t)P_PIDFD, (id_t)pfd, &si, WEXITED);
  CHECK(r == 0, "waitid(P_PIDFD): %s", strerror(errno));
  corpus_npeers = 0;
  CHECK(si.si_pid == kid && si.si_code == CLD_EXITED && si.si_status == 37 && si.si_signo == SIGCHLD,
        "waitid(P_PIDFD): si_pid %d (child %d) code %d status %d", (int)si.si_pid, (int)kid, si.si_code, si.si_status);
  CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "the child is still there after waitid reaped it");
  pass();
}
