/* Two zombie children: one killed by SIGTERM, one that exited 0, neither reaped (and SIGCHLD
 * ignored-by-default, so nothing reaps them). After restart waitpid reports each under the pid
 * fork returned with the same status (WIFSIGNALED SIGTERM; WIFEXITED 0), then ECHILD. */
#include "corpus.h"

int main(void) {
  pid_t a = SYS(fork());
  if (a == 0) {
    for (;;) pause();
  }
  pid_t b = SYS(fork());
  if (b == 0) _exit(0);
  SYS(kill(a, SIGTERM));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  SYS(waitid(P_PID, (id_t)a, &si, WEXITED | WNOWAIT));
  memset(&si, 0, sizeof si);
  SYS(waitid(P_PID, (id_t)b, &si, WEXITED | WNOWAIT));

  ready_wait();

  int st;
  pid_t r = waitpid(a, &st, WNOHANG);
  CHECK(r == a, "waitpid(%d, WNOHANG) returned %d (%s)", (int)a, (int)r, r < 0 ? strerror(errno) : "not ready");
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x, want killed by SIGTERM", st);
  r = waitpid(b, &st, WNOHANG);
  CHECK(r == b, "waitpid(%d, WNOHANG) returned %d (%s)", (int)b, (int)r, r < 0 ? strerror(errno) : "not ready");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x, want exit 0", st);
  CHECK(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD, "another child appeared");
  pass();
}
