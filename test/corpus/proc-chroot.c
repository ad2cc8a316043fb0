/* A process in a chroot (as a build sandbox or a daemon after privilege separation puts itself):
 * chroot("jail") then chdir("/"), with a file open from inside. Needs CAP_SYS_CHROOT (root); SKIP
 * otherwise. After restart "/" is still the jail (its marker file is at /marker, the outside
 * world's files are not visible, /.. is / again), the working directory is the jail's root, and
 * the open file is the same. */
#include "corpus.h"

int main(void) {
  SYS(mkdir("jail", 0755));
  int m = SYS(open("jail/marker", O_CREAT | O_WRONLY, 0644));
  write_all(m, "inside", 6);
  close(m);
  close(SYS(open("outside-only", O_CREAT | O_WRONLY, 0644)));
  struct stat jst;
  SYS(stat("jail", &jst));
  if (chroot("jail")) skip("chroot: %s (needs CAP_SYS_CHROOT)", strerror(errno));
  SYS(chdir("/"));
  int f = SYS(open("/marker", O_RDONLY));

  ready_wait();

  struct stat rst, cst;
  CHECK(!stat("/", &rst), "stat(/): %s", strerror(errno));
  CHECK(rst.st_ino == jst.st_ino && rst.st_dev == jst.st_dev, "/ is no longer the jail (inode %lu, want %lu)",
        (unsigned long)rst.st_ino, (unsigned long)jst.st_ino);
  struct stat up;
  CHECK(!stat("/..", &up) && up.st_ino == jst.st_ino, "/.. leads out of the jail");
  CHECK(!stat(".", &cst) && cst.st_ino == jst.st_ino, "the working directory is not the jail's root");
  CHECK(access("/marker", F_OK) == 0, "/marker is not visible: %s", strerror(errno));
  CHECK(access("/outside-only", F_OK) < 0, "a file outside the jail is visible at /outside-only");
  char b[8] = {0};
  CHECK(pread(f, b, 6, 0) == 6 && !memcmp(b, "inside", 6), "the file opened inside reads \"%.6s\"", b);
  char cwd[64];
  CHECK(getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/"), "getcwd says %s, want /", cwd);
  pass();
}
