/* A child stopped by SIGSTOP whose stop the program has NOT taken yet: the report is unread and
 * the SIGCHLD it raised is pending (the program blocks SIGCHLD). After the checkpoint and the
 * restart the program finds exactly that: one SIGCHLD (CLD_STOPPED, SIGSTOP, from the child's
 * pid), one stop report (WSTOPSIG SIGSTOP), then nothing more; SIGCONT continues the child. */
#include "stopped.h"
#include <poll.h>

int main(void) {
  int out[2];
  SYS(pipe(out));
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  SYS(sigprocmask(SIG_BLOCK, &chld, NULL));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    SYS(sigprocmask(SIG_UNBLOCK, &chld, NULL));
    raise(SIGSTOP);
    write_all(out[1], "ran", 3);
    for (;;) pause();
  }
  peer(kid);
  /* wait for the stop without taking its report: the SIGCHLD it raises is pending */
  sigset_t pend;
  for (int i = 0; i < 10000; i++) {
    sigpending(&pend);
    if (sigismember(&pend, SIGCHLD)) break;
    usleep(1000);
  }
  sigpending(&pend);
  if (!sigismember(&pend, SIGCHLD)) fail("setup: no SIGCHLD pending for the stop");

  ready_wait();

  struct pollfd p = {.fd = out[0], .events = POLLIN};
  CHECK(poll(&p, 1, 100) == 0, "the stopped child ran (it wrote to its pipe)");
  CHECK(state_of(kid) == 'T', "child state '%c', want T", state_of(kid));
  siginfo_t si;
  struct timespec zero = {0, 0};
  int s = sigtimedwait(&chld, &si, &zero);
  CHECK(s == SIGCHLD, "the pending SIGCHLD is gone (%s)", strerror(errno));
  CHECK(si.si_code == CLD_STOPPED && si.si_pid == kid && si.si_status == SIGSTOP,
        "SIGCHLD code %d pid %d status %d, want CLD_STOPPED %d SIGSTOP", si.si_code, (int)si.si_pid, si.si_status, (int)kid);
  s = sigtimedwait(&chld, &si, &zero);
  CHECK(s < 0 && errno == EAGAIN, "a second SIGCHLD (code %d pid %d)", si.si_code, (int)si.si_pid);
  int st;
  pid_t r = waitpid(kid, &st, WUNTRACED | WNOHANG);
  CHECK(r == kid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "waitpid(WUNTRACED) returned %d status %#x, want the unread stop report", (int)r, st);
  check_still_stopped(kid, "after the report was read");
  SYS(kill(kid, SIGCONT));
  r = waitpid(kid, &st, WCONTINUED);
  CHECK(r == kid && WIFCONTINUED(st), "waitpid(WCONTINUED) returned %d status %#x", (int)r, st);
  CHECK(poll(&p, 1, 5000) == 1, "the continued child did not run");
  SYS(kill(kid, SIGKILL));
  r = waitpid(kid, &st, 0);
  CHECK(r == kid && WIFSIGNALED(st), "child ended with %#x", st);
  pass();
}
