/* A directory descriptor (O_RDONLY|O_DIRECTORY) whose directory was renamed after it was opened
 * (old.d -> new.d): after restart the descriptor is still that directory (same inode as new.d),
 * openat relative to it finds the file inside, a file created through it appears in new.d, and
 * old.d does not exist again. */
#include "corpus.h"

int main(void) {
  SYS(mkdir("old.d", 0700));
  int f = SYS(open("old.d/inside", O_WRONLY | O_CREAT | O_TRUNC, 0600));
  write_all(f, "in", 2);
  close(f);
  int d = SYS(open("old.d", O_RDONLY | O_DIRECTORY));
  SYS(rename("old.d", "new.d"));
  struct stat s0;
  SYS(stat("new.d", &s0));

  ready_wait();

  struct stat sd;
  SYS(fstat(d, &sd));
  CHECK(S_ISDIR(sd.st_mode), "the descriptor is not a directory (mode %o)", sd.st_mode);
  CHECK(sd.st_ino == s0.st_ino, "the descriptor is inode %lu, new.d is %lu", (unsigned long)sd.st_ino, (unsigned long)s0.st_ino);
  CHECK(access("old.d", F_OK) < 0, "old.d exists again (the restart made the old path)");
  int i = openat(d, "inside", O_RDONLY);
  CHECK(i >= 0, "openat(dir, inside): %s", strerror(errno));
  char b[2];
  CHECK(read(i, b, 2) == 2 && !memcmp(b, "in", 2), "inside reads wrong");
  int n = openat(d, "made-after", O_WRONLY | O_CREAT, 0600);
  CHECK(n >= 0, "openat(dir, made-after, O_CREAT): %s", strerror(errno));
  CHECK(!access("new.d/made-after", F_OK), "a file made through the descriptor is not in new.d");
  pass();
}
