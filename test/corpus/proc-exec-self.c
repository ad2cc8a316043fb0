/* A program that runs itself again through /proc/self/exe (servers re-exec on upgrade, test
 * runners and multiprocessing's spawn start workers so): after restart posix_spawn, execv in a
 * forked child and execvp of "/proc/self/exe" each run this very program (the child answers with
 * its role), not something else the kernel's link might name. */
#include "corpus.h"
#include <spawn.h>

extern char** environ;

static int status_of(pid_t p) {
  int st;
  if (waitpid(p, &st, 0) != p) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(int argc, char** argv) {
  if (argc > 2 && !strcmp(argv[1], "role")) _exit(atoi(argv[2]));

  ready_wait();

  char* a1[] = {argv[0], "role", "41", NULL};
  pid_t p;
  int e = posix_spawn(&p, "/proc/self/exe", NULL, NULL, a1, environ);
  CHECK(e == 0, "posix_spawn(/proc/self/exe): %s", strerror(e));
  int s = status_of(p);
  CHECK(s == 41, "posix_spawn of /proc/self/exe: the child exited %d, want 41 (it was not this program)", s);
  char* a2[] = {argv[0], "role", "42", NULL};
  p = SYS(fork());
  if (p == 0) {
    execv("/proc/self/exe", a2);
    _exit(127);
  }
  s = status_of(p);
  CHECK(s == 42, "execv of /proc/self/exe: the child exited %d, want 42", s);
  char* a3[] = {argv[0], "role", "43", NULL};
  p = SYS(fork());
  if (p == 0) {
    execvp("/proc/self/exe", a3);
    _exit(127);
  }
  s = status_of(p);
  CHECK(s == 43, "execvp of /proc/self/exe: the child exited %d, want 43", s);
  pass();
}
