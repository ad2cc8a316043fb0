/* A child stopped by SIGSTOP (seen through waitpid WUNTRACED before the checkpoint): after restart
 * it is still stopped (it has not run: its pipe is empty), SIGCONT continues it (waitpid
 * WCONTINUED reports it), it runs (writes to the pipe) and exits 5. */
#include "corpus.h"
#include <poll.h>

int main(void) {
  int out[2], go[2];
  SYS(pipe(out));
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    raise(SIGSTOP);
    write_all(out[1], "ran", 3);
    char c;
    _exit(read(go[0], &c, 1) == 1 ? 5 : 9);
  }
  peer(kid);
  int st;
  SYS(waitpid(kid, &st, WUNTRACED));
  if (!WIFSTOPPED(st)) fail("setup: child status %#x, not stopped", st);

  ready_wait();

  struct pollfd p = {.fd = out[0], .events = POLLIN};
  CHECK(poll(&p, 1, 100) == 0, "the stopped child ran (it wrote to its pipe)");
  char path[64], stat[256] = "";
  snprintf(path, sizeof path, "/proc/%d/stat", (int)kid);
  int f = open(path, O_RDONLY);
  if (f >= 0) {
    ssize_t n = read(f, stat, sizeof stat - 1);
    if (n > 0) stat[n] = 0;
    close(f);
    char* rp = strrchr(stat, ')');
    CHECK(rp && rp[2] == 'T', "%s says state '%c', want T (stopped)", path, rp ? rp[2] : '?');
  }
  SYS(kill(kid, SIGCONT));
  pid_t r = waitpid(kid, &st, WCONTINUED);
  CHECK(r == kid && WIFCONTINUED(st), "waitpid(WCONTINUED) returned %d status %#x", (int)r, st);
  CHECK(poll(&p, 1, 5000) == 1, "the continued child did not run");
  char b[4];
  CHECK(read(out[0], b, 4) == 3, "child output");
  write_all(go[1], "x", 1);
  r = waitpid(kid, &st, 0);
  CHECK(r == kid && WIFEXITED(st) && WEXITSTATUS(st) == 5, "child ended with %#x, want exit 5", st);
  pass();
}
