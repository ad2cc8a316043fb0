/* Job control: a process group of two (a child and its own child, each counting in shared memory)
 * stopped as a whole with SIGTSTP sent to the group, as a shell stops a job. Both are stopped
 * processes, the grandchild's parent stopped too: each is continued for the checkpoint by its
 * parent's agent and stops again. After the checkpoint and the restart both are still stopped,
 * neither ran, the program has no new report; SIGCONT to the group continues both. */
#include "stopped.h"

int main(void) {
  volatile unsigned long* ctr = shared_page();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    setpgid(0, 0);
    signal(SIGTSTP, SIG_DFL);
    pid_t gk = fork();
    if (gk == 0) {
      for (;;) {
        ctr[1]++;
        usleep(1000);
      }
    }
    ctr[2] = (unsigned long)gk;
    for (;;) {
      ctr[0]++;
      usleep(1000);
    }
  }
  peer(kid);
  setpgid(kid, kid);
  CHECK(changes(&ctr[0], 0) && changes(&ctr[1], 0), "setup: the job does not run");
  pid_t gk = (pid_t)ctr[2];
  CHECK(getpgid(gk) == kid, "setup: grandchild in group %d, want %d", (int)getpgid(gk), (int)kid);
  SYS(kill(-kid, SIGTSTP));
  int st;
  SYS(waitpid(kid, &st, WUNTRACED));
  if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTSTP) fail("setup: child status %#x, not stopped by SIGTSTP", st);
  for (int i = 0; i < 5000 && state_of(gk) != 'T'; i++) usleep(1000);
  CHECK(state_of(gk) == 'T', "setup: grandchild state '%c'", state_of(gk));
  usleep(20000);
  unsigned long c0 = ctr[0], c1 = ctr[1];

  ready_wait();

  usleep(50000);
  CHECK(ctr[0] == c0, "the stopped child ran (counter %lu, was %lu)", ctr[0], c0);
  CHECK(ctr[1] == c1, "the stopped grandchild ran (counter %lu, was %lu)", ctr[1], c1);
  check_still_stopped(kid, "after restart");
  CHECK(state_of(gk) == 'T', "grandchild state '%c', want T", state_of(gk));
  SYS(kill(-kid, SIGCONT));
  pid_t r = waitpid(kid, &st, WCONTINUED);
  CHECK(r == kid && WIFCONTINUED(st), "waitpid(WCONTINUED) returned %d status %#x", (int)r, st);
  CHECK(changes(&ctr[0], c0) && changes(&ctr[1], c1), "the continued job does not run");
  kill(gk, SIGKILL);
  SYS(kill(kid, SIGKILL));
  r = waitpid(kid, &st, 0);
  CHECK(r == kid && WIFSIGNALED(st), "child ended with %#x", st);
  pass();
}
