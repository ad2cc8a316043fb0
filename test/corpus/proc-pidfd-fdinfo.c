/* /proc/self/fdinfo/<pidfd> of a pidfd on our child (and of one on ourselves): its "Pid:" line is
 * the pid the program knows (fork's return, getpid), before and after the restart; "NSpid:" too. */
#include "corpus.h"
#include <sys/syscall.h>

static long fdinfo_pid(int fd, const char* field) {
  char path[64], v[64];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  if (proc_status_field(path, field, v, sizeof v)) return -999;
  return atol(v);
}

static void check(int kfd, int sfd, pid_t kid, const char* phase) {
  long p = fdinfo_pid(kfd, "Pid");
  CHECK(p == kid, "%s: fdinfo of the child's pidfd says Pid %ld, fork returned %d", phase, p, (int)kid);
  p = fdinfo_pid(kfd, "NSpid");
  CHECK(p == kid || p == -999, "%s: fdinfo of the child's pidfd says NSpid %ld, fork returned %d", phase, p, (int)kid);
  p = fdinfo_pid(sfd, "Pid");
  CHECK(p == getpid(), "%s: fdinfo of our own pidfd says Pid %ld, getpid %d", phase, p, (int)getpid());
}

int main(void) {
  int go[2];
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    _exit(0);
  }
  peer(kid);
  int kfd = (int)syscall(SYS_pidfd_open, kid, 0);
  int sfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (kfd < 0 || sfd < 0) skip("pidfd_open: %s", strerror(errno));
  if (fdinfo_pid(kfd, "Pid") == -999) skip("this kernel's pidfd fdinfo has no Pid line");
  check(kfd, sfd, kid, "before");
  ready_wait();
  check(kfd, sfd, kid, "after");
  SYS(write(go[1], "x", 1));
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st), "waitpid");
  corpus_npeers = 0;
  long p = fdinfo_pid(kfd, "Pid");
  CHECK(p == -1 || p == 0 || p == kid, "fdinfo of a reaped child's pidfd: Pid %ld", p);
  pass();
}
