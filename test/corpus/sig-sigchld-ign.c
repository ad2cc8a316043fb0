/* SIGCHLD set to SIG_IGN (children reaped by the kernel, as many daemons do) with a child alive
 * across the checkpoint: after restart SIGCHLD is still SIG_IGN, and when the child exits it leaves
 * no zombie: a blocking wait() returns ECHILD once it is gone. */
#include "corpus.h"

int main(void) {
  signal(SIGCHLD, SIG_IGN);
  int go[2];
  SYS(pipe(go));
  pid_t c = SYS(fork());
  if (c == 0) {
    char x;
    if (read(go[0], &x, 1) != 1) _exit(2);
    _exit(0);
  }
  peer(c);

  ready_wait();

  struct sigaction now;
  SYS(sigaction(SIGCHLD, NULL, &now));
  CHECK(now.sa_handler == SIG_IGN, "SIGCHLD is no longer ignored");
  write_all(go[1], "x", 1);
  int st;
  pid_t r = wait(&st);
  CHECK(r == -1 && errno == ECHILD, "wait returned %d (%s), want ECHILD (no zombie with SIGCHLD ignored)", (int)r, r < 0 ? strerror(errno) : "a child");
  CHECK(kill(c, 0) == -1 && errno == ESRCH, "the child is still there");
  pass();
}
