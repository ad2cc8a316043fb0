/* The main thread blocks in sigwaitinfo(SIGCHLD) across the checkpoint; a forked child reads the go
 * line (on the stdin it inherited) and exits 17. sigwaitinfo must return SIGCHLD with si_pid == the
 * pid fork returned, CLD_EXITED, status 17 (never EINTR), and waitpid reaps the same pid. */
#include "corpus.h"

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  sigprocmask(SIG_BLOCK, &s, NULL);
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    read_line();
    _exit(17);
  }
  peer(kid);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = sigwaitinfo(&s, &si);
  CHECK(r == SIGCHLD, "sigwaitinfo: %d (%s)", r, strerror(errno));
  CHECK(si.si_pid == kid && si.si_code == CLD_EXITED && si.si_status == 17, "SIGCHLD: si_pid %d (child %d) code %d status %d",
        (int)si.si_pid, (int)kid, si.si_code, si.si_status);
  CHECK(si.si_uid == getuid(), "SIGCHLD si_uid %u, getuid %u", si.si_uid, getuid());
  int st;
  pid_t w = waitpid(-1, &st, 0);
  corpus_npeers = 0;
  CHECK(w == kid && WIFEXITED(st) && WEXITSTATUS(st) == 17, "waitpid = %d status %#x", (int)w, st);
  pass();
}
