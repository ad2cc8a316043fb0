/* A file opened through a symlink (link -> a.dat), after which the symlink was replaced to point
 * at b.dat (rename over it, as deployments switch a "current" link). After restart the descriptor
 * is still a.dat (inode, contents, offset), not what the link names now, and the link still
 * points at b.dat. */
#include "corpus.h"

int main(void) {
  int a = SYS(open("a.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(a, "alpha-file", 10);
  close(a);
  int b = SYS(open("b.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(b, "bravo-file", 10);
  close(b);
  SYS(symlink("a.dat", "current"));
  int fd = SYS(open("current", O_RDWR));
  SYS(lseek(fd, 6, SEEK_SET));
  SYS(symlink("b.dat", "current.new"));
  SYS(rename("current.new", "current"));
  struct stat sa;
  SYS(stat("a.dat", &sa));

  ready_wait();

  struct stat sf;
  SYS(fstat(fd, &sf));
  CHECK(sf.st_ino == sa.st_ino, "the descriptor is inode %lu, want a.dat's %lu (it followed the new link?)",
        (unsigned long)sf.st_ino, (unsigned long)sa.st_ino);
  CHECK(lseek(fd, 0, SEEK_CUR) == 6, "offset %ld, want 6", (long)lseek(fd, 0, SEEK_CUR));
  char buf[16] = {0};
  CHECK(pread(fd, buf, 10, 0) == 10 && !memcmp(buf, "alpha-file", 10), "the descriptor reads '%.10s', want 'alpha-file'", buf);
  char l[64] = {0};
  CHECK(readlink("current", l, sizeof l - 1) == 5 && !strcmp(l, "b.dat"), "the link reads '%s', want 'b.dat'", l);
  write_all(fd, "X", 1);
  int o = SYS(open("b.dat", O_RDONLY));
  CHECK(pread(o, buf, 10, 0) == 10 && !memcmp(buf, "bravo-file", 10), "b.dat changed: '%.10s'", buf);
  pass();
}
