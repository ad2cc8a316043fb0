/* The environment: /proc/self/environ shows the environment the program started with (its
 * original strings area); the program then changes a string in place (putenv-style edit of its
 * own memory) and adds a variable with setenv. After restart /proc/self/environ is byte for byte
 * what it was (the edit included: it reads the process's own memory), getenv sees the added
 * variable, and a child exec'd now inherits it. */
#include "corpus.h"

extern char** environ;

static int read_proc(const char* p, char* b, size_t cap) {
  int f = open(p, O_RDONLY);
  if (f < 0) return -1;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(f, b + n, cap - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(f);
  return (int)n;
}

int main(int argc, char** argv) {
  if (argc > 1 && !strcmp(argv[1], "child")) {
    const char* v = getenv("CORPUS_ADDED");
    _exit(v && !strcmp(v, "after-setenv") ? 0 : 1);
  }
  for (char** e = environ; *e; e++)
    if (!strncmp(*e, "HOME=", 5) && (*e)[5]) (*e)[5] = 'Q';
  SYS(setenv("CORPUS_ADDED", "after-setenv", 1));
  static char before[1 << 16], after[1 << 16];
  int nb = read_proc("/proc/self/environ", before, sizeof before);
  CHECK(nb > 0, "before: reading /proc/self/environ");

  ready_wait();

  int na = read_proc("/proc/self/environ", after, sizeof after);
  CHECK(na == nb, "/proc/self/environ has %d bytes, had %d", na, nb);
  CHECK(!memcmp(before, after, (size_t)nb), "/proc/self/environ differs from before the checkpoint");
  const char* v = getenv("CORPUS_ADDED");
  CHECK(v && !strcmp(v, "after-setenv"), "getenv(CORPUS_ADDED) is %s", v ? v : "(null)");
  pid_t p = SYS(fork());
  if (p == 0) {
    execl("/proc/self/exe", argv[0], "child", (char*)NULL);
    _exit(127);
  }
  int st;
  SYS(waitpid(p, &st, 0));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "an exec'd child does not see CORPUS_ADDED (status %#x)", st);
  pass();
}
