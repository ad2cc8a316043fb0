/* recv() with no timeout on a connected TCP socket (127.0.0.1), blocked across the checkpoint; the
 * other end belongs to a forked peer that reads the go line and only then sends 6 bytes. recv must
 * return them (never EINTR, never 0); then the peer closes and recv sees EOF. */
#include "net.h"

int main(void) {
  int l = tcp_listener(1);
  int c = tcp_connect(port_of(l));
  int s = SYS(accept(l, NULL, NULL));
  close(l);
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(c);
    read_line();
    if (send(s, "tcp-ok", 6, 0) != 6) _exit(3);
    close(s);
    _exit(0);
  }
  peer(kid);
  close(s);
  char b[16];
  ssize_t n = recv(c, b, sizeof b, 0);
  CHECK(n >= 0, "recv: %s", strerror(errno));
  CHECK(n == 6 && !memcmp(b, "tcp-ok", 6), "recv returned %zd, want the peer's 6 bytes", n);
  n = recv(c, b, sizeof b, 0);
  CHECK(n == 0, "after the peer closed: recv returned %zd (%s), want EOF", n, n < 0 ? strerror(errno) : "data");
  pass();
}
