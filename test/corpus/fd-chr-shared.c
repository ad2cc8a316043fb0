/* A character device (/dev/null here; any device reopened at its path) opened once and inherited by
 * a forked child is one open file description in both: kcmp KCMP_FILE says so, and the status
 * flags are one — O_NONBLOCK and O_APPEND set by the child are seen by the parent — before and
 * after the restart. */
#include "corpus.h"
#include <linux/kcmp.h>
#include <sys/syscall.h>

static void check(pid_t kid, int fd, int cmd, int ack, int want, const char* phase) {
  long r = syscall(SYS_kcmp, getpid(), kid, KCMP_FILE, fd, fd);
  CHECK(r == 0, "%s: kcmp(us, child, FILE, %d, %d) = %ld (%s): not one description any more", phase, fd, fd, r,
        r < 0 ? strerror(errno) : "differs");
  char c = (char)want;
  SYS(write(cmd, &c, 1));
  CHECK(read(ack, &c, 1) == 1 && c == 'k', "%s: the child did not set the flags", phase);
  int fl = fcntl(fd, F_GETFL);
  int mask = O_NONBLOCK | O_APPEND;
  CHECK((fl & mask) == (want == 'a' ? O_APPEND : O_NONBLOCK), "%s: the child set %s, we see flags %#x", phase,
        want == 'a' ? "O_APPEND" : "O_NONBLOCK", fl);
}

int main(void) {
  int fd = SYS(open("/dev/null", O_RDWR));
  int cmd[2], ack[2];
  SYS(pipe(cmd));
  SYS(pipe(ack));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    for (;;) {
      char c;
      if (read(cmd[0], &c, 1) != 1) _exit(0);
      int fl = fcntl(fd, F_GETFL) & ~(O_NONBLOCK | O_APPEND);
      fcntl(fd, F_SETFL, fl | (c == 'a' ? O_APPEND : O_NONBLOCK));
      if (write(ack[1], "k", 1) != 1) _exit(3);
    }
  }
  peer(kid);
  if (syscall(SYS_kcmp, getpid(), kid, KCMP_FILE, fd, fd) < 0) skip("kcmp: %s", strerror(errno));
  check(kid, fd, cmd[1], ack[0], 'n', "before");
  ready_wait();
  check(kid, fd, cmd[1], ack[0], 'a', "after");
  pass();
}
