/* Checkpoints in a row on a stopped child: the program itself asks for two checkpoints back to
 * back (the control protocol, as `amber checkpoint` does) before READY, then the corpus takes its
 * live one and the one that ends the run. Each must find the child stopped (continued for the
 * checkpoint and stopped again before the previous one resumed): it never runs program code (it
 * would write to its pipe), no report reaches the program; after the restart SIGCONT continues
 * it and it exits 5. Without amber the two requests are skipped. */
#include "stopped.h"
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
  struct pollfd p = {.fd = out[0], .events = POLLIN};
  for (int i = 1; i <= 2; i++) {
    if (!self_checkpoint()) break;
    char when[32];
    snprintf(when, sizeof when, "after checkpoint %d", i);
    CHECK(poll(&p, 1, 0) == 0, "%s: the stopped child ran (it wrote to its pipe)", when);
    check_still_stopped(kid, when);
  }

  ready_wait();

  CHECK(poll(&p, 1, 100) == 0, "the stopped child ran (it wrote to its pipe)");
  check_still_stopped(kid, "after restart");
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
