/* A fork/exit storm running across the checkpoint: the main thread forks short-lived children in
 * a loop until the go line arrives (read by a thread), and 50 more after it. Each child exits
 * with (its own getpid() & 0x7f); the parent reaps each by the pid fork returned and checks the
 * status matches that pid. No fork may fail, no status differ, no child be left over. */
#include "corpus.h"

int main(void) {
  ready();
  line_thread(NULL);
  int after = 0;
  long n = 0;
  while (after < 50) {
    if (__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST)) after++;
    pid_t k = fork();
    CHECK(k >= 0, "fork %ld: %s", n, strerror(errno));
    if (k == 0) _exit(getpid() & 0x7f);
    int st;
    pid_t r = waitpid(k, &st, 0);
    CHECK(r == k, "fork %ld: waitpid(%d) returned %d (%s)", n, (int)k, (int)r, r < 0 ? strerror(errno) : "");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == (k & 0x7f), "fork %ld: child %d exited with %#x, want %d (its getpid differs from fork's)", n,
          (int)k, st, k & 0x7f);
    n++;
  }
  CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child is left over");
  pass();
}
