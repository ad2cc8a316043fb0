/* pidfd_getfd (kernel >= 5.6) through a pidfd of our child: a copy of the child's descriptor (one
 * end of a pipe it created) — before and after the restart the copy writes into the child's pipe,
 * which the child reads back and reports. */
#include "corpus.h"
#include <sys/syscall.h>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int main(void) {
  int rep[2], cmd[2];
  SYS(pipe(rep));
  SYS(pipe(cmd));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int own[2];
    if (pipe(own)) _exit(2);
    int num = own[1];
    if (write(rep[1], &num, sizeof num) != sizeof num) _exit(3);
    for (;;) {
      char c;
      if (read(cmd[0], &c, 1) != 1) _exit(0);
      char b[8];
      ssize_t n = read(own[0], b, sizeof b);
      c = (n == 3 && !memcmp(b, "abc", 3)) ? 'y' : 'n';
      if (write(rep[1], &c, 1) != 1) _exit(4);
    }
  }
  peer(kid);
  int num = -1;
  CHECK(read(rep[0], &num, sizeof num) == sizeof num, "the child's report");
  int pfd = (int)syscall(SYS_pidfd_open, kid, 0);
  if (pfd < 0) skip("pidfd_open: %s", strerror(errno));
  const char* phase = "before";
  for (int round = 0; round < 2; round++) {
    int got = (int)syscall(SYS_pidfd_getfd, pfd, num, 0);
    if (got < 0 && round == 0 && (errno == ENOSYS || errno == EPERM)) skip("pidfd_getfd: %s", strerror(errno));
    CHECK(got >= 0, "%s: pidfd_getfd(child %d, fd %d): %s", phase, (int)kid, num, strerror(errno));
    CHECK(write(got, "abc", 3) == 3, "%s: write into the child's pipe: %s", phase, strerror(errno));
    close(got);
    SYS(write(cmd[1], "r", 1));
    char c;
    CHECK(read(rep[0], &c, 1) == 1 && c == 'y', "%s: the child did not read our bytes from its own pipe", phase);
    if (round == 0) {
      ready_wait();
      phase = "after";
    }
  }
  pass();
}
