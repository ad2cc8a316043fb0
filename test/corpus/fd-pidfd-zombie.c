/* A pidfd (pidfd_open) on a child that exited with status 29 before the checkpoint and was not
 * reaped (a zombie): after restart the pidfd is readable (poll POLLIN at once), waitid(P_PIDFD)
 * returns the child's pid as fork returned it, CLD_EXITED, status 29, and then the child is gone
 * (ECHILD). */
#include "corpus.h"
#include <poll.h>
#include <sys/syscall.h>

int main(void) {
  pid_t kid = SYS(fork());
  if (kid == 0) _exit(29);
  int pfd = (int)syscall(SYS_pidfd_open, kid, 0);
  if (pfd < 0) skip("pidfd_open: %s", strerror(errno));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  SYS(waitid(P_PID, (id_t)kid, &si, WEXITED | WNOWAIT));

  ready_wait();

  struct pollfd p = {.fd = pfd, .events = POLLIN};
  int r = poll(&p, 1, 0);
  CHECK(r == 1 && (p.revents & POLLIN), "the pidfd of the zombie is not readable (poll %d, revents %#x)", r, p.revents);
  memset(&si, 0, sizeof si);
  CHECK(!waitid(P_PIDFD, (id_t)pfd, &si, WEXITED | WNOHANG), "waitid(P_PIDFD): %s", strerror(errno));
  CHECK(si.si_pid == kid, "waitid reports pid %d, want %d", (int)si.si_pid, (int)kid);
  CHECK(si.si_code == CLD_EXITED && si.si_status == 29, "code %d status %d, want exited 29", si.si_code, si.si_status);
  CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child is still there after the reap");
  pass();
}
