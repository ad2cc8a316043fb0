/* The parent is suspended in vfork() across the checkpoint: its child (sharing its memory) waits
 * for the go line on the stdin it inherited, then _exits 0 without touching memory. vfork must
 * then return the child's pid to the parent (the one waitpid reaps, status 0), never an error. */
#include "corpus.h"

int main(void) {
  ready();
  pid_t kid = vfork();
  if (kid == 0) {
    char c;
    for (;;) {
      ssize_t n = read(0, &c, 1);
      if (n <= 0) _exit(3);
      if (c == '\n') _exit(0);
    }
  }
  CHECK(kid > 0, "vfork: %s", strerror(errno));
  int st;
  pid_t w = waitpid(kid, &st, 0);
  CHECK(w == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "waitpid(%d) = %d status %#x", (int)kid, (int)w, st);
  pass();
}
