/* The main thread blocks in read() on an empty pipe whose writer is a forked peer; the peer reads
 * the go line (on the stdin it inherited) and only then writes 6 bytes and closes its end. The read
 * must return those bytes (never EINTR, never 0), and then EOF once the peer is gone. */
#include "corpus.h"

int main(void) {
  int p[2];
  SYS(pipe(p));
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(p[0]);
    read_line();
    if (write(p[1], "after!", 6) != 6) _exit(3);
    _exit(0);
  }
  peer(kid);
  close(p[1]);
  char b[16];
  ssize_t n = read(p[0], b, sizeof b);
  CHECK(n >= 0, "read(pipe): %s", strerror(errno));
  CHECK(n == 6 && !memcmp(b, "after!", 6), "read(pipe) returned %zd before/instead of the peer's 6 bytes", n);
  n = read(p[0], b, sizeof b);
  CHECK(n == 0, "after the peer's bytes: read returned %zd (%s), want EOF", n, n < 0 ? strerror(errno) : "data");
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "peer %d status %#x", (int)kid, st);
  corpus_npeers = 0;
  pass();
}
