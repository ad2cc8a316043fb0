/* PR_SET_DUMPABLE 0 (a program holding secrets makes itself undumpable: no core, no ptrace, its
 * /proc files owned by root). After restart PR_GET_DUMPABLE still reads 0, and a child forked now
 * inherits it (a fork keeps the flag). */
#include "corpus.h"
#include <sys/prctl.h>

int main(void) {
  SYS(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) fail("setup: PR_GET_DUMPABLE is not 0");

  ready_wait();

  int d = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  CHECK(d == 0, "PR_GET_DUMPABLE %d after restart, want 0", d);
  int p[2];
  SYS(pipe(p));
  pid_t k = SYS(fork());
  if (k == 0) {
    char c = (char)('0' + prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    write_all(p[1], &c, 1);
    _exit(0);
  }
  char c;
  read_exact(p[0], &c, 1, "child");
  waitpid(k, NULL, 0);
  CHECK(c == '0', "a child forked after restart has PR_GET_DUMPABLE %c, want 0", c);
  d = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  CHECK(d == 0, "PR_GET_DUMPABLE %d after the fork, want 0", d);
  pass();
}
