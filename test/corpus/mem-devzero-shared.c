/* /dev/zero mapped MAP_SHARED (the old way to get shared memory, before MAP_ANONYMOUS) by us,
 * then shared with our child by fork; both wrote before the checkpoint. After restart it is still
 * one memory: each sees what the other wrote, before and after. */
#include "mem.h"
#include <poll.h>

#define SZ (3 * 4096)
int main(void) {
  int z = SYS(open("/dev/zero", O_RDWR));
  volatile char* m = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
  if (m == MAP_FAILED) fail("mmap /dev/zero: %s", strerror(errno));
  close(z);
  m[0] = 'P';
  int q[2], a[2];
  SYS(pipe(q));
  SYS(pipe(a));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    m[4096] = 'C';
    write_all(a[1], "w", 1);
    char c;
    for (;;) {
      if (read(q[0], &c, 1) != 1) _exit(0);
      /* report what we see, then write the next mark */
      char seen[2] = {m[0], m[8192]};
      m[4097] = 'D';
      write_all(a[1], seen, 2);
    }
  }
  peer(kid);
  char c;
  read_exact(a[0], &c, 1, "child wrote");
  if (m[4096] != 'C') fail("setup: the child's write is not seen");

  ready_wait();

  CHECK(m[0] == 'P' && m[4096] == 'C', "the memory lost what was written (%c %c)", m[0] ? m[0] : '0', m[4096] ? m[4096] : '0');
  m[8192] = 'Q';
  write_all(q[1], "q", 1);
  char seen[2];
  read_exact(a[0], seen, 2, "child's view");
  CHECK(seen[0] == 'P', "the child sees %#x at offset 0, want 'P' (the memory is no longer one)", seen[0]);
  CHECK(seen[1] == 'Q', "the child does not see our write after the restart (%#x)", seen[1]);
  CHECK(m[4097] == 'D', "we do not see the child's write after the restart");
  uintptr_t lo, hi;
  char perms[5], path[256];
  CHECK(!map_of((void*)m, &lo, &hi, perms, path, sizeof path), "not mapped");
  CHECK(perms[3] == 's', "perms %s, want a shared mapping", perms);
  pass();
}
