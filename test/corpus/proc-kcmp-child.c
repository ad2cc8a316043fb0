/* kcmp(2) between us and a forked child by the child's pid: the descriptor both share (a regular
 * file, inherited) compares equal (KCMP_FILE 0), one opened separately differs, and the address
 * spaces differ (KCMP_VM != 0) — before and after the restart, the child named by the pid fork
 * returned. */
#include "corpus.h"
#include <linux/kcmp.h>
#include <sys/syscall.h>

static void check(pid_t kid, int shared, int own, const char* phase) {
  pid_t me = getpid();
  long r = syscall(SYS_kcmp, me, kid, KCMP_FILE, shared, shared);
  CHECK(r == 0, "%s: kcmp(us, child %d, FILE, %d, %d) = %ld (%s), the child inherited it", phase, (int)kid, shared, shared,
        r, r < 0 ? strerror(errno) : "differs");
  r = syscall(SYS_kcmp, me, kid, KCMP_FILE, own, own);
  CHECK(r > 0, "%s: kcmp of two separately opened files = %ld (%s)", phase, r, r < 0 ? strerror(errno) : "equal");
  r = syscall(SYS_kcmp, me, kid, KCMP_VM, 0, 0);
  CHECK(r > 0, "%s: kcmp VM = %ld (%s)", phase, r, r < 0 ? strerror(errno) : "equal");
  r = syscall(SYS_kcmp, me, me, KCMP_VM, 0, 0);
  CHECK(r == 0, "%s: kcmp(us, us, VM) = %ld (%s)", phase, r, strerror(errno));
}

static char path[64];
static void rm(void) { unlink(path); }

int main(void) {
  snprintf(path, sizeof path, "/tmp/amber-kcmp-XXXXXX");
  on_exit_cleanup(rm);
  int shared = SYS(mkstemp(path));
  SYS(write(shared, "kcmp", 4));
  int go[2], ack[2];
  SYS(pipe(go));
  SYS(pipe(ack));
  int own = SYS(dup(shared)); /* a number both of us then point at a /dev/zero of our own */
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int f = open("/dev/zero", O_RDONLY);
    if (f < 0 || dup2(f, own) != own) _exit(2);
    if (write(ack[1], "r", 1) != 1) _exit(3);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(4);
    _exit(0);
  }
  peer(kid);
  char c;
  CHECK(read(ack[0], &c, 1) == 1, "the child did not start");
  int z = SYS(open("/dev/zero", O_RDONLY)); /* the same number as the child's, a different open file */
  SYS(dup2(z, own));
  close(z);
  if (syscall(SYS_kcmp, getpid(), kid, KCMP_VM, 0, 0) < 0 && (errno == ENOSYS || errno == EPERM))
    skip("kcmp: %s", strerror(errno));
  check(kid, shared, own, "before");
  ready_wait();
  check(kid, shared, own, "after");
  pass();
}
