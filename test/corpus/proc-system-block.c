/* system() in progress at the checkpoint: its shell waits for a byte on a pipe we hold (the go
 * line's thread writes it) and exits 6. system must return exit status 6 — not -1/ECHILD from
 * waiting for the previous run's kernel pid, not EINTR. */
#include "corpus.h"

static int go[2];
static void release(void) { write_all(go[1], "x\n", 2); }

int main(void) {
  SYS(pipe(go));
  char cmd[128];
  snprintf(cmd, sizeof cmd, "read x <&%d; [ \"$x\" = x ] && exit 6; exit 1", go[0]);
  ready();
  line_thread(release);
  int st = system(cmd);
  CHECK(line_seen, "system returned before the go line");
  CHECK(st != -1, "system: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 6, "system status %#x, want exit 6", st);
  pass();
}
