/* waitpid(child, WCONTINUED) blocked across the checkpoint on a child that stopped itself before
 * READY (its stop already reaped with WUNTRACED). Only the go line (read by a thread, which then
 * sends SIGCONT) may continue it: waitpid must return the pid fork returned with WIFCONTINUED, only
 * after the go line (amber's own handling of a stopped child must not show as a continue), never
 * EINTR or ECHILD. */
#include "corpus.h"

static pid_t kid;
static void cont(void) {
  if (kill(kid, SIGCONT)) fail("kill(SIGCONT): %s", strerror(errno));
}

int main(void) {
  kid = SYS(fork());
  if (kid == 0) {
    raise(SIGSTOP);
    for (;;) pause();
  }
  peer(kid);
  int st;
  CHECK(waitpid(kid, &st, WUNTRACED) == kid && WIFSTOPPED(st), "the child did not stop (status %#x)", st);
  ready();
  line_thread(cont);
  st = 0;
  pid_t w = waitpid(kid, &st, WCONTINUED);
  CHECK(w >= 0, "waitpid(WCONTINUED): %s", strerror(errno));
  CHECK(w == kid && WIFCONTINUED(st), "waitpid(WCONTINUED) = %d (child %d) status %#x", (int)w, (int)kid, st);
  CHECK(line_seen, "the child was reported continued before the go line");
  CHECK(waitpid(kid, &st, WNOHANG | WUNTRACED | WCONTINUED) == 0, "another report after the continue: status %#x", st);
  pass();
}
