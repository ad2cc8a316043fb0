/* A FIFO opened O_RDWR (one descriptor that is both ends: a FIFO kept open so a reader never sees
 * EOF, as daemons do for their control FIFO), 12 bytes in flight: after restart the descriptor is
 * still O_RDWR on the FIFO at that path, the 12 bytes come back once, a writer opening the path
 * now reaches us, and we can write to ourselves through it. */
#include "corpus.h"

int main(void) {
  SYS(mkfifo("ctl.fifo", 0600));
  int fd = SYS(open("ctl.fifo", O_RDWR | O_NONBLOCK));
  write_all(fd, "hello, fifo!", 12);
  struct stat s0;
  SYS(stat("ctl.fifo", &s0));

  ready_wait();

  CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "the FIFO descriptor is not O_RDWR (flags %#x)", fcntl(fd, F_GETFL));
  struct stat s1;
  SYS(fstat(fd, &s1));
  CHECK(S_ISFIFO(s1.st_mode) && s1.st_ino == s0.st_ino, "the descriptor is not the FIFO at the path");
  char b[64];
  ssize_t n = read(fd, b, sizeof b);
  CHECK(n == 12 && !memcmp(b, "hello, fifo!", 12), "read %zd bytes, want the 12 in flight", n);
  int w = SYS(open("ctl.fifo", O_WRONLY | O_NONBLOCK));
  write_all(w, "via path", 8);
  n = read(fd, b, sizeof b);
  CHECK(n == 8 && !memcmp(b, "via path", 8), "a writer at the path does not reach us (%zd)", n);
  write_all(fd, "self", 4);
  n = read(fd, b, sizeof b);
  CHECK(n == 4 && !memcmp(b, "self", 4), "writing to ourselves through the O_RDWR end (%zd)", n);
  expect_empty(fd, "fifo");
  pass();
}
