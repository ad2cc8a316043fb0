/* A seccomp filter installed (prctl, with no_new_privs) before an exec stays in force in the new
 * program, in the kernel and after a restart: sysinfo fails with EDOM, Seccomp_filters is one more
 * than the launcher's, and other calls work. */
#include "corpus.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>

static const char* wrong(int base, char* why, size_t cap) {
  struct sysinfo si;
  errno = 0;
  if (!(sysinfo(&si) < 0 && errno == EDOM)) return snprintf(why, cap, "the filter is gone (sysinfo: %s)", strerror(errno)), why;
  char v[16];
  if (proc_status_field("/proc/self/status", "Seccomp_filters", v, sizeof v) || atoi(v) != base + 1)
    return snprintf(why, cap, "Seccomp_filters is %s, want %d", v, base + 1), why;
  if (getpid() <= 0) return "getpid failed";
  return "";
}

int main(int argc, char** argv) {
  char why[160];
  if (argc > 2 && !strcmp(argv[1], "after")) {
    int base = atoi(argv[2]);
    const char* w = wrong(base, why, sizeof why);
    CHECK(!*w, "after the exec: %s", w);
    ready_wait();
    w = wrong(base, why, sizeof why);
    CHECK(!*w, "%s", w);
    pass();
  }
  char v[16] = "0";
  proc_status_field("/proc/self/status", "Seccomp_filters", v, sizeof v);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sysinfo, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EDOM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  SYS(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) skip("seccomp filters unavailable: %s", strerror(errno));
  execl("/proc/self/exe", argv[0], "after", v, (char*)NULL);
  fail("exec: %s", strerror(errno));
}
