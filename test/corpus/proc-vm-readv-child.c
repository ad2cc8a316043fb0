/* process_vm_readv and process_vm_writev on a forked child named by the pid fork returned: read a
 * buffer the child filled, write one it then checks — before and after the restart. */
#include "corpus.h"
#include <sys/uio.h>

static char area[4096];

static void check(pid_t kid, int cmd, int ack, uint32_t seed, const char* phase) {
  char got[4096];
  struct iovec l = {got, sizeof got}, r = {area, sizeof area};
  ssize_t n = process_vm_readv(kid, &l, 1, &r, 1, 0);
  CHECK(n == (ssize_t)sizeof got, "%s: process_vm_readv(child %d) = %zd (%s)", phase, (int)kid, n, strerror(errno));
  CHECK(check_pattern(got, sizeof got, seed) < 0, "%s: the child's buffer read back differs", phase);
  char put[4096];
  fill_pattern(put, sizeof put, seed + 1);
  struct iovec lw = {put, sizeof put};
  n = process_vm_writev(kid, &lw, 1, &r, 1, 0);
  CHECK(n == (ssize_t)sizeof put, "%s: process_vm_writev(child %d) = %zd (%s)", phase, (int)kid, n, strerror(errno));
  char c = 'c';
  SYS(write(cmd, &c, 1));
  CHECK(read(ack, &c, 1) == 1 && c == 'y', "%s: the child does not see what process_vm_writev wrote", phase);
}

int main(void) {
  int cmd[2], ack[2];
  SYS(pipe(cmd));
  SYS(pipe(ack));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    uint32_t seed = 500;
    fill_pattern(area, sizeof area, seed);
    if (write(ack[1], "r", 1) != 1) _exit(2);
    for (;;) {
      char c;
      if (read(cmd[0], &c, 1) != 1) _exit(0);
      c = check_pattern(area, sizeof area, seed + 1) < 0 ? 'y' : 'n';
      seed += 100;
      fill_pattern(area, sizeof area, seed);
      if (write(ack[1], &c, 1) != 1) _exit(3);
    }
  }
  peer(kid);
  char c;
  CHECK(read(ack[0], &c, 1) == 1, "the child did not start");
  struct iovec l = {&c, 1}, r = {area, 1};
  if (process_vm_readv(kid, &l, 1, &r, 1, 0) < 0 && (errno == EPERM || errno == ENOSYS))
    skip("process_vm_readv: %s", strerror(errno));
  check(kid, cmd[1], ack[0], 500, "before");
  ready_wait();
  check(kid, cmd[1], ack[0], 600, "after");
  pass();
}
