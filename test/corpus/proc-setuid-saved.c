/* A process that leaves root for another user but keeps root in its saved uid and gid
 * (setresuid(65534, 65534, 0)), as servers that switch back for privileged work do: after restart
 * its ids are still 65534/65534/0, its permitted capabilities are the ones it kept (effective
 * none), it is still not dumpable, a root-only file cannot be opened — and it can switch back to
 * root (setresuid(0, 0, 0)) and then open it. SKIP unless run as root. */
#include "corpus.h"
#include <grp.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <sys/syscall.h>

static void caps(uint64_t* eff, uint64_t* perm) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  SYS(syscall(SYS_capget, &h, d));
  *eff = d[0].effective | (uint64_t)d[1].effective << 32;
  *perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
}

int main(void) {
  if (getuid() != 0) skip("needs root (setuid to another user)");
  int f = SYS(open("rootonly.dat", O_CREAT | O_WRONLY | O_TRUNC, 0600));
  close(f);
  SYS(setgroups(0, NULL));
  SYS(setresgid(65534, 65534, 0));
  SYS(setresuid(65534, 65534, 0));
  uint64_t eff0, perm0;
  caps(&eff0, &perm0);
  int dumpable = prctl(PR_GET_DUMPABLE);
  CHECK(eff0 == 0 && perm0 != 0, "setup: capabilities eff %llx perm %llx, want none effective, some permitted",
        (unsigned long long)eff0, (unsigned long long)perm0);

  ready_wait();

  uid_t r, e, s;
  gid_t gr, ge, gs;
  SYS(getresuid(&r, &e, &s));
  SYS(getresgid(&gr, &ge, &gs));
  CHECK(r == 65534 && e == 65534 && s == 0, "uids %u/%u/%u, want 65534/65534/0", r, e, s);
  CHECK(gr == 65534 && ge == 65534 && gs == 0, "gids %u/%u/%u, want 65534/65534/0", gr, ge, gs);
  uint64_t eff, perm;
  caps(&eff, &perm);
  CHECK(eff == eff0 && perm == perm0, "capabilities eff %llx perm %llx, want eff %llx perm %llx", (unsigned long long)eff,
        (unsigned long long)perm, (unsigned long long)eff0, (unsigned long long)perm0);
  CHECK(prctl(PR_GET_DUMPABLE) == dumpable, "PR_GET_DUMPABLE %d, want %d as before", prctl(PR_GET_DUMPABLE), dumpable);
  CHECK(open("rootonly.dat", O_RDONLY) < 0 && errno == EACCES, "a root-only file can be opened before switching back");
  CHECK(setresgid(0, 0, 0) == 0, "cannot switch back to gid 0: %s", strerror(errno));
  CHECK(setresuid(0, 0, 0) == 0, "cannot switch back to root (saved uid 0): %s", strerror(errno));
  int fd = open("rootonly.dat", O_RDONLY);
  CHECK(fd >= 0, "back as root, the root-only file cannot be opened: %s", strerror(errno));
  close(fd);
  pass();
}
