/* A zombie grandchild reparented to a subreaper: we are a child subreaper, our child forked a
 * grandchild and exited (reaped), then the grandchild exited with status 41 — it is now OUR zombie,
 * unreaped. After restart waitid(WNOWAIT) reports it under the pid it had, exited 41, waitpid
 * reaps it, and then we have no child left (ECHILD). */
#include "corpus.h"
#include <sys/prctl.h>

int main(void) {
  SYS(prctl(PR_SET_CHILD_SUBREAPER, 1));
  int pp[2], go[2];
  SYS(pipe(pp));
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(go[1]);
    pid_t g = fork();
    if (g < 0) _exit(2);
    if (g == 0) {
      char c;
      /* exits only once its parent is gone (it is ours then) */
      if (read(go[0], &c, 1) != 0) _exit(90);
      _exit(41);
    }
    write_all(pp[1], &g, sizeof g);
    _exit(0);
  }
  close(go[0]);
  pid_t g;
  read_exact(pp[0], &g, sizeof g, "grandchild pid");
  int st;
  SYS(waitpid(kid, &st, 0));
  close(go[1]);  /* the grandchild reads EOF and exits */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  SYS(waitid(P_PID, (id_t)g, &si, WEXITED | WNOWAIT));

  ready_wait();

  memset(&si, 0, sizeof si);
  CHECK(!waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT), "waitid: %s (the reparented zombie is gone)", strerror(errno));
  CHECK(si.si_pid == g, "waitid reports pid %d, want the grandchild %d", (int)si.si_pid, (int)g);
  CHECK(si.si_code == CLD_EXITED && si.si_status == 41, "code %d status %d, want exited 41", si.si_code, si.si_status);
  pid_t r = waitpid(g, &st, WNOHANG);
  CHECK(r == g, "waitpid(%d) returned %d (%s)", (int)g, (int)r, r < 0 ? strerror(errno) : "not ready");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 41, "status %#x, want exit 41", st);
  CHECK(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "another child appeared");
  pass();
}
