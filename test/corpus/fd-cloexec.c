/* Two descriptors on one file, one with FD_CLOEXEC and one without (plus a pipe end with
 * O_CLOEXEC): after restart F_GETFD reads back the same, and a program we exec sees exactly the
 * descriptors without the flag. */
#include "corpus.h"

static int visible_after_exec(int fd) {
  pid_t p = fork();
  if (p < 0) fail("fork: %s", strerror(errno));
  if (p == 0) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "test -e /proc/self/fd/%d", fd);
    execl("/bin/sh", "sh", "-c", cmd, (char*)NULL);
    _exit(127);
  }
  int st;
  if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) > 1) fail("exec probe: status %#x", st);
  return WEXITSTATUS(st) == 0;
}

int main(void) {
  int keep = SYS(open("cloexec.dat", O_RDWR | O_CREAT, 0600));
  int drop = SYS(open("cloexec.dat", O_RDONLY | O_CLOEXEC));
  int p[2];
  SYS(pipe2(p, O_CLOEXEC));
  SYS(fcntl(p[1], F_SETFD, 0)); /* the write end stays across exec */
  if (!visible_after_exec(keep) || visible_after_exec(drop)) fail("setup: exec probe does not see the flags");

  ready_wait();

  CHECK(fcntl(keep, F_GETFD) == 0, "the descriptor without FD_CLOEXEC has flags %d", fcntl(keep, F_GETFD));
  CHECK(fcntl(drop, F_GETFD) == FD_CLOEXEC, "the FD_CLOEXEC descriptor has flags %d", fcntl(drop, F_GETFD));
  CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC, "pipe read end (O_CLOEXEC) has flags %d", fcntl(p[0], F_GETFD));
  CHECK(fcntl(p[1], F_GETFD) == 0, "pipe write end (flag cleared) has flags %d", fcntl(p[1], F_GETFD));
  CHECK(visible_after_exec(keep), "the descriptor without FD_CLOEXEC is gone after exec");
  CHECK(!visible_after_exec(drop), "the FD_CLOEXEC descriptor survived exec");
  CHECK(!visible_after_exec(p[0]) && visible_after_exec(p[1]), "pipe ends after exec: read %d write %d, want 0 1",
        visible_after_exec(p[0]), visible_after_exec(p[1]));
  pass();
}
