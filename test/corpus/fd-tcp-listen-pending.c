/* A TCP listener on 127.0.0.1 with one connection in its accept queue (the client end is ours too,
 * 9 bytes sent, not accepted): after restart the listener has the same port, accept returns the
 * pending connection with its 9 bytes, the pair talks both ways, and a new client can connect. */
#include "net.h"

int main(void) {
  int l = tcp_listener(8);
  uint16_t port = port_of(l);
  int c = tcp_connect(port);
  write_all(c, "in queue!", 9);

  ready_wait();

  CHECK(port_of(l) == port, "listener port %u, want %u", port_of(l), port);
  CHECK(getint(l, SOL_SOCKET, SO_ACCEPTCONN) == 1, "the socket is no longer listening");
  SYS(fcntl(l, F_SETFL, O_NONBLOCK));
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0, "accept of the pending connection: %s", strerror(errno));
  char b[16];
  wait_queued(s, 9);
  ssize_t n = recv(s, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 9 && !memcmp(b, "in queue!", 9), "the pending connection's data: %zd", n);
  write_all(s, "back", 4);
  wait_queued(c, 4);
  CHECK(recv(c, b, sizeof b, MSG_DONTWAIT) == 4 && !memcmp(b, "back", 4), "the client end does not get the reply");
  CHECK(port_of(s) == port, "accepted socket's local port %u, want %u", port_of(s), port);
  int d = tcp_connect(port);
  (void)d;
  SYS(fcntl(l, F_SETFL, 0));
  CHECK(accept(l, NULL, NULL) >= 0, "accept of a new client: %s", strerror(errno));
  pass();
}
