/* popen() before the checkpoint, pclose() after the restart: the shell popen started reads one
 * line from us (written after the go line) and exits 5 when it is "hello". pclose must wait for
 * that shell and return its status (glibc's pclose waits inside libc for the pid it saved at
 * popen, which is not the child's kernel pid in the restored run). A "r" stream too: a command
 * whose output we read after the restart, and its status. */
#include "corpus.h"

int main(void) {
  FILE* w = popen("read x; [ \"$x\" = hello ] && exit 5; exit 1", "w");
  CHECK(w != NULL, "popen w: %s", strerror(errno));
  FILE* r = popen("read y < /dev/stdin 2>/dev/null; echo out-line; exit 3", "r");
  CHECK(r != NULL, "popen r: %s", strerror(errno));
  ready_wait();
  CHECK(fputs("hello\n", w) >= 0, "fputs: %s", strerror(errno));
  int st = pclose(w);
  CHECK(st != -1, "pclose of the \"w\" stream: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5, "pclose status %#x, want exit 5", st);
  char line[64] = "";
  CHECK(fgets(line, sizeof line, r) != NULL, "fgets from the \"r\" stream: %s", strerror(errno));
  CHECK(strcmp(line, "out-line\n") == 0, "read %s", line);
  st = pclose(r);
  CHECK(st != -1, "pclose of the \"r\" stream: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "pclose status %#x, want exit 3", st);
  pass();
}
