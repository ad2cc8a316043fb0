/* setproctitle-style: the program overwrites its argv area (argv[0] and what follows, up to the
 * end of the environment strings it moved away), as nginx, postgres and sshd do, so ps shows a
 * title. After restart /proc/self/cmdline reads the title, argv[0] in memory is the title, and
 * the environment it copied is still there (getenv). */
#include "corpus.h"

extern char** environ;

static int read_proc(const char* p, char* b, size_t cap) {
  int f = open(p, O_RDONLY);
  if (f < 0) return -1;
  ssize_t n = read(f, b, cap);
  close(f);
  return (int)n;
}

int main(int argc, char** argv) {
  (void)argc;
  /* The area from argv[0] to the end of the last environment string. */
  char* start = argv[0];
  char* end = argv[0] + strlen(argv[0]) + 1;
  for (int i = 1; argv[i]; i++)
    if (argv[i] == end) end = argv[i] + strlen(argv[i]) + 1;
  static char* envcopy[512];
  int n = 0;
  for (char** e = environ; *e && n < 511; e++) {
    if (*e == end) end = *e + strlen(*e) + 1;
    envcopy[n++] = strdup(*e);
  }
  envcopy[n] = NULL;
  environ = envcopy;
  SYS(setenv("CORPUS_TITLE_VAR", "kept", 1));
  const char* title = "corpus: worker process (title)";
  size_t room = (size_t)(end - start);
  CHECK(room > strlen(title) + 1, "argv+environ area too small (%zu)", room);
  memset(start, 0, room);
  strcpy(start, title);
  char before[4096];
  int nb = read_proc("/proc/self/cmdline", before, sizeof before);
  CHECK(nb > 0 && !strcmp(before, title), "before: cmdline does not show the title");

  ready_wait();

  char after[4096];
  int na = read_proc("/proc/self/cmdline", after, sizeof after);
  CHECK(na > 0, "reading /proc/self/cmdline");
  after[na < (int)sizeof after ? na : (int)sizeof after - 1] = 0;
  CHECK(!strcmp(after, title), "/proc/self/cmdline reads \"%s\", want the title \"%s\"", after, title);
  CHECK(!strcmp(argv[0], title), "argv[0] is \"%s\"", argv[0]);
  const char* v = getenv("CORPUS_TITLE_VAR");
  CHECK(v && !strcmp(v, "kept"), "the copied environment lost CORPUS_TITLE_VAR");
  pass();
}
