/* A process group of two children (the first one's pid) in which one member is stopped (SIGSTOP)
 * and the other runs (it answers on a pipe). After restart both are still in that group
 * (getpgid), the stopped one is still stopped (state T, no new report) and the running one still
 * answers; then SIGCONT to the group continues the stopped one (it answers too, and waitpid
 * WCONTINUED reports it) and SIGTERM to the group ends both. */
#include "stopped.h"

static void member(int rd, int wr) {
  char c;
  while (read(rd, &c, 1) == 1) write_all(wr, &c, 1);
  _exit(0);
}

int main(void) {
  int a_in[2], a_out[2], b_in[2], b_out[2];
  SYS(pipe(a_in));
  SYS(pipe(a_out));
  SYS(pipe(b_in));
  SYS(pipe(b_out));
  pid_t a = SYS(fork());
  if (a == 0) {
    setpgid(0, 0);
    member(a_in[0], a_out[1]);
  }
  setpgid(a, a);
  peer(a);
  pid_t b = SYS(fork());
  if (b == 0) {
    setpgid(0, a);
    member(b_in[0], b_out[1]);
  }
  setpgid(b, a);
  peer(b);
  char c;
  /* both answer (so both are in their loop), then a stops */
  write_all(a_in[1], "1", 1);
  read_exact(a_out[0], &c, 1, "a's first answer");
  write_all(b_in[1], "1", 1);
  read_exact(b_out[0], &c, 1, "b's first answer");
  CHECK(getpgid(a) == a && getpgid(b) == a, "setup: groups %d %d", (int)getpgid(a), (int)getpgid(b));
  SYS(kill(a, SIGSTOP));
  int st;
  CHECK(waitpid(a, &st, WUNTRACED) == a && WIFSTOPPED(st), "setup: a did not stop (%#x)", st);

  ready_wait();

  CHECK(getpgid(a) == a, "a's group is %d, want %d", (int)getpgid(a), (int)a);
  CHECK(getpgid(b) == a, "b's group is %d, want %d (a's)", (int)getpgid(b), (int)a);
  check_still_stopped(a, "after restart");
  write_all(b_in[1], "2", 1);
  read_exact(b_out[0], &c, 1, "b's answer after the restart");
  CHECK(c == '2', "b answered '%c'", c);
  write_all(a_in[1], "3", 1);
  CHECK(state_of(a) == 'T', "a runs before SIGCONT (state %c)", state_of(a));
  SYS(killpg(a, SIGCONT));
  read_exact(a_out[0], &c, 1, "a's answer after SIGCONT");
  CHECK(c == '3', "a answered '%c'", c);
  CHECK(waitpid(a, &st, WCONTINUED) == a && WIFCONTINUED(st), "waitpid(a, WCONTINUED) status %#x", st);
  SYS(killpg(a, SIGTERM));
  CHECK(waitpid(a, &st, 0) == a && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "a: status %#x, want SIGTERM", st);
  CHECK(waitpid(b, &st, 0) == b && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "b: status %#x, want SIGTERM", st);
  pass();
}
