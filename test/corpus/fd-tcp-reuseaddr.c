/* A TCP listener with SO_REUSEADDR set before bind: after restart the option reads 1, the port is
 * the same, it accepts a client, and (SO_REUSEADDR semantics) a second socket with SO_REUSEADDR
 * still cannot bind the port while we listen on it (EADDRINUSE). */
#include "net.h"

int main(void) {
  int l = SYS(socket(AF_INET, SOCK_STREAM, 0));
  int one = 1;
  SYS(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  struct sockaddr_in a = lo4(0);
  SYS(bind(l, (struct sockaddr*)&a, sizeof a));
  SYS(listen(l, 4));
  uint16_t port = port_of(l);

  ready_wait();

  CHECK(getint(l, SOL_SOCKET, SO_REUSEADDR) == 1, "SO_REUSEADDR reads %d, want 1", getint(l, SOL_SOCKET, SO_REUSEADDR));
  CHECK(port_of(l) == port, "port %u, want %u", port_of(l), port);
  CHECK(getint(l, SOL_SOCKET, SO_ACCEPTCONN) == 1, "not listening");
  int c = tcp_connect(port);
  (void)c;
  CHECK(accept(l, NULL, NULL) >= 0, "accept: %s", strerror(errno));
  int t = SYS(socket(AF_INET, SOCK_STREAM, 0));
  SYS(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  struct sockaddr_in b = lo4(port);
  CHECK(bind(t, (struct sockaddr*)&b, sizeof b) < 0 && errno == EADDRINUSE, "another socket could bind our listening port");
  pass();
}
