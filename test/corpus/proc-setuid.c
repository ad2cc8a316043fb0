/* A process that drops from root to another user (nobody, 65534) after launch, as daemons do:
 * after restart its real/effective/saved/filesystem uids and gids are still 65534 with no
 * supplementary groups and no capabilities, a root-only file cannot be opened (it is not root
 * again), and it is still not dumpable (the kernel cleared the flag at the switch; the checkpoint
 * must not leave it set). SKIP unless run as root. */
#include "corpus.h"
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <sys/syscall.h>

int main(void) {
  if (getuid() != 0) skip("needs root (setuid to another user)");
  int f = SYS(open("rootonly.dat", O_CREAT | O_WRONLY | O_TRUNC, 0600));
  close(f);
  SYS(setgroups(0, NULL));
  SYS(setresgid(65534, 65534, 65534));
  SYS(setresuid(65534, 65534, 65534));
  int dumpable = prctl(PR_GET_DUMPABLE);
  CHECK(dumpable == 0, "PR_GET_DUMPABLE %d after the switch, want 0", dumpable);

  ready_wait();

  uid_t r, e, s;
  gid_t gr, ge, gs;
  SYS(getresuid(&r, &e, &s));
  SYS(getresgid(&gr, &ge, &gs));
  CHECK(r == 65534 && e == 65534 && s == 65534, "uids %u/%u/%u, want 65534", r, e, s);
  CHECK(gr == 65534 && ge == 65534 && gs == 65534, "gids %u/%u/%u, want 65534", gr, ge, gs);
  CHECK(getgroups(0, NULL) == 0, "%d supplementary groups, want none", getgroups(0, NULL));
  CHECK(setfsuid(-1) == 65534 && setfsgid(-1) == 65534, "fsuid %d fsgid %d, want 65534", setfsuid(-1), setfsgid(-1));
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  SYS(syscall(SYS_capget, &h, d));
  CHECK(!d[0].effective && !d[0].permitted && !d[0].inheritable && !d[1].effective && !d[1].permitted,
        "capabilities eff %x perm %x inh %x, want none", d[0].effective, d[0].permitted, d[0].inheritable);
  CHECK(prctl(PR_GET_DUMPABLE) == dumpable, "PR_GET_DUMPABLE %d, want %d as before", prctl(PR_GET_DUMPABLE), dumpable);
  CHECK(open("rootonly.dat", O_RDONLY) < 0 && errno == EACCES, "a root-only file can be opened: we are root again");
  pass();
}
