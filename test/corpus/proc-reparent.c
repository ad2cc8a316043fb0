/* getppid after the parent died: we fork M, M forks G and exits; G is reparented (to the nearest
 * subreaper, or init) and records getppid() — not M any more. After restart G's getppid() is
 * what it was before (its parent did not come back to life, nor became someone else), and G still
 * answers through its pipe. */
#include "corpus.h"

int main(void) {
  int up[2], down[2];
  SYS(pipe(up));
  SYS(pipe(down));
  pid_t m = SYS(fork());
  if (m == 0) {
    pid_t g = fork();
    if (g < 0) _exit(2);
    if (g == 0) {
      pid_t mp = getppid();
      /* Wait for M to exit: our parent changes. */
      for (int i = 0; i < 5000 && getppid() == mp; i++) usleep(1000);
      pid_t pp = getppid();
      if (write(up[1], &pp, sizeof pp) != sizeof pp) _exit(3);
      char c;
      if (read(down[0], &c, 1) != 1) _exit(4);
      pid_t now = getppid();
      if (write(up[1], &now, sizeof now) != sizeof now) _exit(5);
      pause();
      _exit(0);
    }
    pid_t gp = g;
    if (write(up[1], &gp, sizeof gp) != sizeof gp) _exit(6);
    _exit(0);
  }
  int st;
  SYS(waitpid(m, &st, 0));
  pid_t g, pp0, pp1;
  read_exact(up[0], &g, sizeof g, "G's pid");
  peer(g);
  read_exact(up[0], &pp0, sizeof pp0, "G's parent after M exited");
  CHECK(pp0 != m, "G still sees M (%d) as its parent", (int)m);

  ready_wait();

  write_all(down[1], "x", 1);
  read_exact(up[0], &pp1, sizeof pp1, "G's parent after restart");
  CHECK(pp1 == pp0, "G's getppid() is %d after restart, was %d", (int)pp1, (int)pp0);
  pass();
}
