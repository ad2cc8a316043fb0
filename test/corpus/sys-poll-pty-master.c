/* poll(-1) on a pseudo-terminal master, blocked across the checkpoint; a forked child holding the
 * slave reads the go line and only then writes a line to the terminal. poll must return 1 with
 * POLLIN (never EINTR, never early), and the master reads that line. */
#include "corpus.h"
#include <poll.h>

int main(void) {
  int slave;
  int m = pty_pair(0, 0, &slave);
  pty_raw(slave);
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(m);
    read_line();
    if (write(slave, "pty!", 4) != 4) _exit(3);
    pause();
    _exit(0);
  }
  peer(kid);
  struct pollfd p = {.fd = m, .events = POLLIN};
  int n = poll(&p, 1, -1);
  CHECK(n >= 0, "poll(master): %s", strerror(errno));
  CHECK(n == 1 && (p.revents & POLLIN), "poll(master) returned %d revents %#x", n, p.revents);
  char b[8];
  read_exact(m, b, 4, "the child's bytes");
  CHECK(!memcmp(b, "pty!", 4), "the master read other bytes");
  pass();
}
