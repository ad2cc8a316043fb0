/* A pty master held by us and three children, 600 bytes of numbered output written to the slave
 * and not yet read from the master. Every holder is checkpointed at the same moment; after the
 * restart the master reads the 600 bytes once each, in order. */
#include "corpus.h"
#include <poll.h>
#include <termios.h>

int main(void) {
  int s;
  int m = pty_pair(0, 0, &s);
  pty_raw(s);
  char out[601];
  for (int i = 0; i < 100; i++) snprintf(out + i * 6, 7, "%05d,", i);
  write_all(s, out, 600);
  for (int k = 0; k < 3; k++) {
    pid_t c = SYS(fork());
    if (c == 0) {
      for (;;) pause();  // holds the master; killed at the end
    }
    peer(c);
  }

  ready_wait();

  char in[700];
  size_t got = 0;
  while (got < 600) {
    struct pollfd p = {.fd = m, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1) break;
    ssize_t n = read(m, in + got, sizeof in - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  CHECK(got == 600, "the master read %zu bytes, want 600", got);
  for (size_t i = 0; i < 600; i += 6)
    CHECK(!memcmp(in + i, out + i, 6), "byte %zu: '%.6s', want '%.6s' (output reordered or doubled)", i, in + i, out + i);
  struct pollfd p = {.fd = m, .events = POLLIN};
  CHECK(poll(&p, 1, 200) == 0, "more output than was written");
  pass();
}
