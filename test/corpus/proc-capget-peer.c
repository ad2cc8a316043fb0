/* capget() of another process of the computation, named by the pid fork returned: after the
 * restart it must still name that child (not ESRCH, not another process) and give the same sets;
 * the header's version field is written back as the kernel writes it. (Right after a
 * `checkpoint --kill` the killed child may linger as a zombie under its old pid, and capget of a
 * zombie answers: the untranslated call then passes by accident; it fails once that pid is gone,
 * as after a restart on another node.) */
#include "corpus.h"
#include <linux/capability.h>
#include <sys/syscall.h>

static int caps(pid_t p, struct __user_cap_data_struct d[2]) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, p};
  memset(d, 0, 2 * sizeof d[0]);
  return (int)syscall(SYS_capget, &h, d);
}

int main(void) {
  int go[2];
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    if (read(go[0], &c, 1) < 0) _exit(2);
    _exit(0);
  }
  peer(kid);
  struct __user_cap_data_struct before[2], after[2];
  CHECK(caps(kid, before) == 0, "capget(child) before: %s", strerror(errno));
  ready_wait();
  CHECK(caps(kid, after) == 0, "capget(child %d) after the restart: %s", (int)kid, strerror(errno));
  CHECK(memcmp(before, after, sizeof before) == 0, "the child's capability sets changed");
  struct __user_cap_header_struct h = {0x1234, kid};
  // (a NULL data pointer with a bad version is the kernel's version probe: 0)
  CHECK(syscall(SYS_capget, &h, NULL) == 0, "capget version probe: %s", strerror(errno));
  CHECK(h.version == _LINUX_CAPABILITY_VERSION_3, "the kernel's preferred version not written back: %#x", h.version);
  CHECK(h.pid == kid, "the header's pid changed to %d", h.pid);
  write_all(go[1], "x", 1);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid");
  pass();
}
