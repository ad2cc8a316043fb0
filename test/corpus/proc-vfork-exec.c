/* vfork() as programs use it (dup2 onto stdout in the child, then exec; _exit(127) when the exec
 * fails), before the checkpoint and after the restart — where amber makes it a fork so that the
 * child can never take a pid the computation already uses: the child's output arrives through the
 * pipe, the exit statuses come back, the pid vfork returned is the one waitpid reaps. */
#include "corpus.h"

static void round_of(const char* when) {
  int p[2];
  SYS(pipe(p));
  pid_t kid = vfork();
  if (kid == 0) {
    dup2(p[1], 1);
    execl("/bin/sh", "sh", "-c", "echo child $$; exit 7", (char*)NULL);
    _exit(127);
  }
  CHECK(kid > 0, "%s: vfork: %s", when, strerror(errno));
  close(p[1]);
  char buf[64] = "";
  ssize_t n, got = 0;
  while ((n = read(p[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0) got += n;
  close(p[0]);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "%s: waitpid(%d): %s", when, (int)kid, strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "%s: status %#x, want exit 7", when, st);
  char want[32];
  snprintf(want, sizeof want, "child %d\n", (int)kid);
  CHECK(!strcmp(buf, want), "%s: the child said '%s', want '%s' (the pid vfork returned)", when, buf, want);
  kid = vfork();
  if (kid == 0) {
    execl("/nonexistent/amber-none", "none", (char*)NULL);
    _exit(127);
  }
  CHECK(kid > 0 && waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 127, "%s: a failed exec: status %#x", when, st);
}

int main(void) {
  round_of("before");
  ready_wait();
  round_of("after restart");
  pass();
}
