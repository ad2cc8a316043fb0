/* A root program that drops to another user the way setpriv and daemons do: PR_SET_KEEPCAPS, then
 * setresuid to 65534 (its permitted capabilities kept), capset to raise CAP_SETGID again in its
 * effective set, setresgid and setgroups, then capset to drop every capability. glibc runs each
 * set*id call in every thread and aborts when their results differ (amber's own thread must agree).
 * After restart: the ids, no capability left, no root-only file readable. SKIP unless root. */
#include "corpus.h"
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int caps(uint32_t eff0, uint32_t perm0) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{eff0, perm0, 0}, {0, 0, 0}};
  return (int)syscall(SYS_capset, &h, d);
}

static const char* wrong(void) {
  uid_t r, e, s;
  gid_t gr, ge, gs;
  if (getresuid(&r, &e, &s) || getresgid(&gr, &ge, &gs)) return "getresuid/getresgid failed";
  if (r != 65534 || e != 65534 || s != 65534) return "uids are not 65534";
  if (gr != 65534 || ge != 65534 || gs != 65534) return "gids are not 65534";
  if (getgroups(0, NULL) != 0) return "supplementary groups";
  char v[32];
  if (proc_status_field("/proc/self/status", "CapEff", v, sizeof v) || strcmp(v, "0000000000000000")) return "effective capabilities left";
  if (proc_status_field("/proc/self/status", "CapPrm", v, sizeof v) || strcmp(v, "0000000000000000")) return "permitted capabilities left";
  if (open("rootonly.dat", O_RDONLY) >= 0 || errno != EACCES) return "a root-only file can be opened";
  return NULL;
}

int main(void) {
  if (getuid() != 0) skip("needs root");
  int f = SYS(open("rootonly.dat", O_CREAT | O_WRONLY | O_TRUNC, 0600));
  close(f);
  SYS(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
  SYS(setresuid(65534, 65534, 65534));
  uint32_t setgid_cap = 1u << CAP_SETGID;
  SYS(caps(setgid_cap, setgid_cap));
  SYS(setresgid(65534, 65534, 65534));
  SYS(setgroups(0, NULL));
  SYS(caps(0, 0));
  const char* w = wrong();
  if (w) fail("setup: %s", w);

  ready_wait();

  w = wrong();
  CHECK(!w, "%s", w);
  pass();
}
