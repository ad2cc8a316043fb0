/* The working directory changed after launch to a subdirectory "a/b c/d" (with a space): after
 * restart getcwd names it, relative paths resolve there, and ".." is "b c". */
#include "corpus.h"
#include <limits.h>

int main(void) {
  char base[PATH_MAX], want[PATH_MAX + 16];
  if (!getcwd(base, sizeof base)) fail("getcwd");
  SYS(mkdir("a", 0700));
  SYS(mkdir("a/b c", 0700));
  SYS(mkdir("a/b c/d", 0700));
  SYS(chdir("a/b c/d"));
  int f = SYS(open("here.txt", O_CREAT | O_WRONLY, 0600));
  write_all(f, "here", 4);
  close(f);
  snprintf(want, sizeof want, "%s/a/b c/d", base);

  ready_wait();

  char now[PATH_MAX];
  CHECK(getcwd(now, sizeof now), "getcwd: %s", strerror(errno));
  CHECK(!strcmp(now, want), "cwd is '%s', want '%s'", now, want);
  char b[8] = {0};
  f = open("here.txt", O_RDONLY);
  CHECK(f >= 0 && read(f, b, sizeof b) == 4 && !strcmp(b, "here"), "here.txt not found relative to the cwd");
  struct stat up, bc;
  SYS(stat("..", &up));
  snprintf(want, sizeof want, "%s/a/b c", base);
  SYS(stat(want, &bc));
  CHECK(up.st_ino == bc.st_ino, "'..' is not 'a/b c'");
  pass();
}
