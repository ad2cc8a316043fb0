/* wait3() — what dash (Debian's /bin/sh) reaps its jobs with — blocked across the checkpoint: the
 * child exits 7 only after the go line, and wait3 must return the pid fork returned (not the
 * child's kernel pid of the restored run) with status 7; a second child forked before the
 * checkpoint is then seen by wait3(WNOHANG) as running (0) and, once told to exit, reaped by its
 * pid. glibc's wait3 calls wait4 inside libc, past any wait4 interposition. */
#include "corpus.h"
#include <sys/resource.h>

static int go[2], go2[2];
static void release(void) { write_all(go[1], "x", 1); }

static pid_t child_exiting(int rd, int code) {
  pid_t p = SYS(fork());
  if (p == 0) {
    char x;
    if (read(rd, &x, 1) != 1) _exit(2);
    _exit(code);
  }
  return p;
}

int main(void) {
  SYS(pipe(go));
  SYS(pipe(go2));
  pid_t a = child_exiting(go[0], 7);
  pid_t b = child_exiting(go2[0], 8);
  ready();
  line_thread(release);
  int st = 0;
  struct rusage ru;
  pid_t r = wait3(&st, 0, &ru);
  CHECK(r == a, "wait3 returned %d (%s), want the first child %d", (int)r, r < 0 ? strerror(errno) : "", (int)a);
  CHECK(line_seen, "wait3 returned before the go line");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status %#x, want exit 7", st);
  r = wait3(&st, WNOHANG, NULL);
  CHECK(r == 0, "wait3(WNOHANG) with the second child running returned %d (%s), want 0", (int)r, r < 0 ? strerror(errno) : "");
  write_all(go2[1], "x", 1);
  r = wait3(&st, 0, NULL);
  CHECK(r == b, "wait3 returned %d (%s), want the second child %d", (int)r, r < 0 ? strerror(errno) : "", (int)b);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 8, "status %#x, want exit 8", st);
  pass();
}
