/* A pidfd (pidfd_open) on our own child, which waits on a pipe: after restart the pidfd is not
 * readable while the child lives, then — once told to exit with status 23 — it becomes readable
 * and waitid(P_PIDFD) reaps the child with si_pid == the pid fork returned and status 23. */
#include "corpus.h"
#include <poll.h>
#include <sys/syscall.h>

int main(void) {
  int go[2];
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    close(go[1]);
    _exit(read(go[0], &c, 1) == 1 && c == 'x' ? 23 : 99);
  }
  close(go[0]);
  int pfd = (int)syscall(SYS_pidfd_open, kid, 0);
  if (pfd < 0) {
    kill(kid, SIGKILL);
    if (errno == ENOSYS) skip("pidfd_open not supported");
    fail("pidfd_open: %s", strerror(errno));
  }

  ready_wait();

  struct pollfd p = {.fd = pfd, .events = POLLIN};
  int n = poll(&p, 1, 0);
  CHECK(n == 0, "the pidfd is readable (%d, revents %#x) while the child should be alive", n, p.revents);
  write_all(go[1], "x", 1);
  n = poll(&p, 1, 10000);
  CHECK(n == 1 && (p.revents & POLLIN), "the pidfd did not become readable when the child exited (%d)", n);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK(!waitid(P_PIDFD, (id_t)pfd, &si, WEXITED), "waitid(P_PIDFD): %s", strerror(errno));
  CHECK(si.si_pid == kid, "waitid reaped pid %d, want %d", (int)si.si_pid, (int)kid);
  CHECK(si.si_code == CLD_EXITED && si.si_status == 23, "child status code %d status %d, want exited 23", si.si_code, si.si_status);
  pass();
}
