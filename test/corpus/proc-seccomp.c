/* A seccomp filter installed after launch (with PR_SET_NO_NEW_PRIVS, so no privilege is needed)
 * that makes sysinfo(2) fail with EDOM: after restart the filter is still in force (sysinfo fails
 * with EDOM, /proc/self/status says Seccomp 2) and other calls work. */
#include "corpus.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>

int main(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sysinfo, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EDOM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  SYS(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) skip("seccomp filters unavailable: %s", strerror(errno));
  struct sysinfo si;
  if (!(sysinfo(&si) < 0 && errno == EDOM)) fail("setup: the filter does not apply");

  ready_wait();

  int r = sysinfo(&si);
  CHECK(r < 0 && errno == EDOM, "sysinfo %s: the seccomp filter is gone", r == 0 ? "succeeded" : strerror(errno));
  char v[16];
  CHECK(!proc_status_field("/proc/self/status", "Seccomp", v, sizeof v) && !strcmp(v, "2"), "/proc/self/status Seccomp is %s, want 2", v);
  CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs is off");
  pass();
}
