/* A connected TCP socket (peer: our child) with SO_KEEPALIVE, TCP_NODELAY, SO_RCVBUF, TCP_KEEPIDLE
 * and TCP_USER_TIMEOUT set after connect: after restart they read back the same, and the
 * connection still works both ways. */
#include "net.h"

int main(void) {
  int l = tcp_listener(4);
  uint16_t port = port_of(l);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(l);
    int c = tcp_connect(port);
    char b[4];
    read_exact(c, b, 4, "child");
    write_all(c, b, 4);
    _exit(0);
  }
  peer(kid);
  int s = SYS(accept(l, NULL, NULL));
  int one = 1, rb = 70000, idle = 33, uto = 12345;
  SYS(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
  SYS(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
  SYS(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb));
  SYS(setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle));
  SYS(setsockopt(s, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto));
  int w_rcv = getint(s, SOL_SOCKET, SO_RCVBUF);

  ready_wait();

  CHECK(getint(s, SOL_SOCKET, SO_KEEPALIVE) == 1, "SO_KEEPALIVE reads %d", getint(s, SOL_SOCKET, SO_KEEPALIVE));
  CHECK(getint(s, IPPROTO_TCP, TCP_NODELAY) == 1, "TCP_NODELAY reads %d", getint(s, IPPROTO_TCP, TCP_NODELAY));
  CHECK(getint(s, SOL_SOCKET, SO_RCVBUF) == w_rcv, "SO_RCVBUF reads %d, want %d", getint(s, SOL_SOCKET, SO_RCVBUF), w_rcv);
  CHECK(getint(s, IPPROTO_TCP, TCP_KEEPIDLE) == idle, "TCP_KEEPIDLE reads %d", getint(s, IPPROTO_TCP, TCP_KEEPIDLE));
  CHECK(getint(s, IPPROTO_TCP, TCP_USER_TIMEOUT) == uto, "TCP_USER_TIMEOUT reads %d", getint(s, IPPROTO_TCP, TCP_USER_TIMEOUT));
  write_all(s, "ping", 4);
  char b[4];
  read_exact(s, b, 4, "echo");
  CHECK(!memcmp(b, "ping", 4), "echo differs");
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x)", st);
  pass();
}
