/* The current directory is removed while the process sits in it (and a directory descriptor on
 * its parent is kept). After restart the cwd is still a deleted directory: getcwd fails with
 * ENOENT, stat(".") is a directory with no links, creating a file in it fails with ENOENT, and
 * /proc/self/cwd reads "<path> (deleted)"; the parent is reachable through the kept descriptor. */
#include "corpus.h"
#include <limits.h>

int main(void) {
  char base[PATH_MAX], gone[PATH_MAX + 16];
  if (!getcwd(base, sizeof base)) fail("getcwd: %s", strerror(errno));
  snprintf(gone, sizeof gone, "%s/gone", base);
  SYS(mkdir("gone", 0700));
  int parent = SYS(open(".", O_RDONLY | O_DIRECTORY));
  SYS(chdir("gone"));
  SYS(rmdir(gone));

  ready_wait();

  char buf[PATH_MAX + 32];
  CHECK(getcwd(buf, sizeof buf) == NULL && errno == ENOENT, "getcwd: %s (want ENOENT for a deleted cwd)",
        getcwd(buf, sizeof buf) ? buf : strerror(errno));
  struct stat st;
  SYS(stat(".", &st));
  CHECK(S_ISDIR(st.st_mode), "'.' is not a directory");
  CHECK(st.st_nlink == 0, "'.' has %lu links, want 0 (deleted)", (unsigned long)st.st_nlink);
  int f = open("x", O_CREAT | O_WRONLY, 0600);
  CHECK(f < 0 && errno == ENOENT, "creating a file in the deleted cwd: %s", f >= 0 ? "succeeded" : strerror(errno));
  ssize_t n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
  CHECK(n > 0, "readlink /proc/self/cwd: %s", strerror(errno));
  buf[n] = 0;
  char want[PATH_MAX + 32];
  snprintf(want, sizeof want, "%s (deleted)", gone);
  CHECK(!strcmp(buf, want), "/proc/self/cwd is '%s', want '%s'", buf, want);
  struct stat ps, bs;
  SYS(fstat(parent, &ps));
  SYS(stat(base, &bs));
  CHECK(ps.st_ino == bs.st_ino && ps.st_dev == bs.st_dev, "the parent's descriptor is not the parent directory");
  CHECK(faccessat(parent, "gone", F_OK, 0) < 0, "'gone' exists again in the parent");
  pass();
}
