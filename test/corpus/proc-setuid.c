/* A process that drops from root to another user (nobody, 65534) after launch, as daemons do:
 * after restart its real/effective/saved uids and gids are still 65534 with no supplementary
 * groups, and a root-only file cannot be opened (it is not root again). SKIP unless run as root. */
#include "corpus.h"
#include <grp.h>

int main(void) {
  if (getuid() != 0) skip("needs root (setuid to another user)");
  int f = SYS(open("rootonly.dat", O_CREAT | O_WRONLY | O_TRUNC, 0600));
  close(f);
  SYS(setgroups(0, NULL));
  SYS(setresgid(65534, 65534, 65534));
  SYS(setresuid(65534, 65534, 65534));

  ready_wait();

  uid_t r, e, s;
  gid_t gr, ge, gs;
  SYS(getresuid(&r, &e, &s));
  SYS(getresgid(&gr, &ge, &gs));
  CHECK(r == 65534 && e == 65534 && s == 65534, "uids %u/%u/%u, want 65534", r, e, s);
  CHECK(gr == 65534 && ge == 65534 && gs == 65534, "gids %u/%u/%u, want 65534", gr, ge, gs);
  CHECK(getgroups(0, NULL) == 0, "%d supplementary groups, want none", getgroups(0, NULL));
  CHECK(open("rootonly.dat", O_RDONLY) < 0 && errno == EACCES, "a root-only file can be opened: we are root again");
  pass();
}
