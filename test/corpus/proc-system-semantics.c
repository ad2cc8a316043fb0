/* system() as glibc defines it, before the checkpoint and after the restart (amber spawns the shell
 * itself so that a restarted computation never gives it a pid already in use): system(NULL) says a
 * shell runs; the shell's exit status comes back; while it runs SIGINT is ignored in the caller
 * (the shell signalling its parent does not run our handler) and our handler is in place again
 * afterwards; the shell gets SIGINT at its default disposition (it dies of it); a shell that cannot
 * run the command is 127; SIGCHLD is not left blocked, SIGUSR2 stays blocked. */
#include "corpus.h"

static volatile sig_atomic_t ints;
static void on_int(int s) { (void)s; ints++; }

static void round_of(const char* when) {
  CHECK(system(NULL) != 0, "%s: system(NULL) says no shell", when);
  int st = system("exit 3");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "%s: system(\"exit 3\") gave status %#x", when, st);
  st = system("kill -INT $PPID; exit 0");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the shell signalling us: status %#x", when, st);
  CHECK(ints == 0, "%s: SIGINT reached our handler while system() ran", when);
  struct sigaction now;
  SYS(sigaction(SIGINT, NULL, &now));
  CHECK(now.sa_handler == on_int, "%s: our SIGINT handler is not back after system()", when);
  st = system("kill -INT $$; exit 5");
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "%s: a shell sending itself SIGINT: status %#x (want killed by SIGINT)", when, st);
  st = system("exec /nonexistent/amber-no-such-program");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127, "%s: a command that cannot run: status %#x, want 127", when, st);
  sigset_t m;
  SYS(sigprocmask(SIG_BLOCK, NULL, &m));
  CHECK(!sigismember(&m, SIGCHLD), "%s: SIGCHLD left blocked after system()", when);
  CHECK(sigismember(&m, SIGUSR2), "%s: SIGUSR2 no longer blocked after system()", when);
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_int};
  SYS(sigaction(SIGINT, &sa, NULL));
  sigset_t u;
  sigemptyset(&u);
  sigaddset(&u, SIGUSR2);
  SYS(sigprocmask(SIG_BLOCK, &u, NULL));
  round_of("before");
  ready_wait();
  round_of("after restart");
  pass();
}
