/* A TCP socket bound to 127.0.0.1:<ephemeral> but neither listening nor connected: after restart
 * it is still bound to that port (getsockname; a second bind of the port fails with EADDRINUSE),
 * not listening, and listen() then accepts a connection on the port. */
#include "net.h"

int main(void) {
  int s = SYS(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in a = lo4(0);
  SYS(bind(s, (struct sockaddr*)&a, sizeof a));
  uint16_t port = port_of(s);

  ready_wait();

  CHECK(port_of(s) == port, "bound port %u, want %u", port_of(s), port);
  CHECK(getint(s, SOL_SOCKET, SO_ACCEPTCONN) == 0, "the bound socket is listening");
  int t = SYS(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in b = lo4(port);
  CHECK(bind(t, (struct sockaddr*)&b, sizeof b) < 0 && errno == EADDRINUSE, "the port is free: nobody holds the binding");
  CHECK(!listen(s, 4), "listen: %s", strerror(errno));
  int c = tcp_connect(port);
  (void)c;
  CHECK(accept(s, NULL, NULL) >= 0, "accept: %s", strerror(errno));
  pass();
}
