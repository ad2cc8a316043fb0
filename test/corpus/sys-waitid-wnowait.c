/* waitid(P_ALL, WEXITED | WNOWAIT) blocked across the checkpoint; the child reads the go line and
 * exits 21. waitid must report the pid fork returned (status 21) without reaping it (never EINTR or
 * ECHILD); a second waitid(P_PID, WNOWAIT) still sees it, and waitpid then reaps it. */
#include "corpus.h"

int main(void) {
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    read_line();
    _exit(21);
  }
  peer(kid);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
  CHECK(r == 0, "waitid(P_ALL, WNOWAIT): %s", strerror(errno));
  CHECK(si.si_pid == kid && si.si_code == CLD_EXITED && si.si_status == 21, "waitid: si_pid %d (child %d) code %d status %d",
        (int)si.si_pid, (int)kid, si.si_code, si.si_status);
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_PID, (id_t)kid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 && si.si_pid == kid,
        "a second waitid(P_PID %d, WNOWAIT): si_pid %d (%s)", (int)kid, (int)si.si_pid, strerror(errno));
  int st;
  pid_t w = waitpid(kid, &st, 0);
  corpus_npeers = 0;
  CHECK(w == kid && WIFEXITED(st) && WEXITSTATUS(st) == 21, "waitpid = %d status %#x", (int)w, st);
  pass();
}
