/* waitpid(child, WUNTRACED) blocked across the checkpoint; the child reads the go line and stops
 * itself (SIGSTOP). waitpid must return the pid fork returned with WIFSTOPPED/SIGSTOP (never EINTR
 * or ECHILD); after SIGCONT the child exits 3 and waitpid reaps it. */
#include "corpus.h"

int main(void) {
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    read_line();
    raise(SIGSTOP);
    _exit(3);
  }
  peer(kid);
  int st = 0;
  pid_t w = waitpid(kid, &st, WUNTRACED);
  CHECK(w >= 0, "waitpid(WUNTRACED): %s", strerror(errno));
  CHECK(w == kid && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "waitpid(WUNTRACED) = %d (child %d) status %#x", (int)w,
        (int)kid, st);
  SYS(kill(kid, SIGCONT));
  w = waitpid(kid, &st, 0);
  CHECK(w == kid && WIFEXITED(st) && WEXITSTATUS(st) == 3, "after SIGCONT: waitpid = %d status %#x", (int)w, st);
  corpus_npeers = 0;
  pass();
}
