/* The parent blocks in waitpid(child) across the checkpoint; the child waits for the go line (on
 * the stdin it inherited) and exits 42. waitpid must return the child's pid (the one fork
 * returned) with status 42, never EINTR or ECHILD. */
#include "corpus.h"

int main(void) {
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    for (;;) {
      ssize_t n = read(0, &c, 1);
      if (n <= 0) _exit(90);
      if (c == '\n') _exit(42);
    }
  }
  int st;
  pid_t r = waitpid(kid, &st, 0);
  CHECK(r >= 0, "waitpid(%d): %s", (int)kid, strerror(errno));
  CHECK(r == kid, "waitpid returned %d, want %d", (int)r, (int)kid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42, "status %#x, want exit 42 (90: the child's stdin closed)", st);
  pass();
}
