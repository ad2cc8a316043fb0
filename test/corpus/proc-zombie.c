/* A zombie child (exited with status 7, not reaped): after restart it is still there to reap:
 * waitid(WNOHANG|WNOWAIT) reports it exited 7 under the pid fork returned, waitpid reaps it with
 * status 7, and then there is no child left (ECHILD). */
#include "corpus.h"

int main(void) {
  pid_t kid = SYS(fork());
  if (kid == 0) _exit(7);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  SYS(waitid(P_PID, (id_t)kid, &si, WEXITED | WNOWAIT));

  ready_wait();

  memset(&si, 0, sizeof si);
  CHECK(!waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), "waitid: %s (the zombie is gone)", strerror(errno));
  CHECK(si.si_pid == kid, "waitid reports pid %d, want the zombie %d", (int)si.si_pid, (int)kid);
  CHECK(si.si_code == CLD_EXITED && si.si_status == 7, "zombie reported code %d status %d, want exited 7", si.si_code, si.si_status);
  int st;
  pid_t r = waitpid(kid, &st, WNOHANG);
  CHECK(r == kid, "waitpid(%d, WNOHANG) returned %d (%s)", (int)kid, (int)r, r < 0 ? strerror(errno) : "not ready");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x, want exit 7", st);
  CHECK(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "another child appeared");
  pass();
}
