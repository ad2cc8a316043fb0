/* A child stopped by SIGTSTP under its default action (no handler), in a process group of its own
 * (not orphaned: its parent is in another group of the session, so SIGTSTP stops it). The program
 * has read the report (WSTOPSIG == SIGTSTP) and counts its SIGCHLDs. After the checkpoint and the
 * restart: still stopped, it has not run (its counter in shared memory did not move), no report
 * and no SIGCHLD the program did not cause; SIGCONT continues it (WCONTINUED), it runs again. */
#include "stopped.h"

static volatile sig_atomic_t nchld;
static void on_chld(int s) {
  (void)s;
  nchld++;
}

int main(void) {
  volatile unsigned long* ctr = shared_page();
  struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_RESTART};
  SYS(sigaction(SIGCHLD, &sa, NULL));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    setpgid(0, 0);
    signal(SIGTSTP, SIG_DFL);
    for (;;) {
      ctr[0]++;
      usleep(1000);
    }
  }
  peer(kid);
  setpgid(kid, kid);  // (both: whichever runs first)
  CHECK(changes(ctr, 0), "setup: the child does not run");
  SYS(kill(kid, SIGTSTP));
  int st;
  SYS(waitpid(kid, &st, WUNTRACED));
  if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTSTP) fail("setup: child status %#x, not stopped by SIGTSTP", st);
  unsigned long c0 = ctr[0];
  sig_atomic_t n0 = nchld;

  ready_wait();

  usleep(50000);
  CHECK(ctr[0] == c0, "the stopped child ran (counter %lu, was %lu)", ctr[0], c0);
  check_still_stopped(kid, "after restart");
  CHECK(nchld == n0, "%d SIGCHLD the program did not cause", (int)(nchld - n0));
  CHECK(getpgid(kid) == kid, "child's process group %d, want %d", (int)getpgid(kid), (int)kid);
  SYS(kill(kid, SIGCONT));
  pid_t r;
  while ((r = waitpid(kid, &st, WCONTINUED)) < 0 && errno == EINTR) {}
  CHECK(r == kid && WIFCONTINUED(st), "waitpid(WCONTINUED) returned %d status %#x", (int)r, st);
  CHECK(changes(ctr, c0), "the continued child does not run");
  SYS(kill(kid, SIGKILL));
  while ((r = waitpid(kid, &st, 0)) < 0 && errno == EINTR) {}
  CHECK(r == kid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child ended with %#x", st);
  pass();
}
