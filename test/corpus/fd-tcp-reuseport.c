/* Two TCP listeners on one port with SO_REUSEPORT: after restart both read SO_REUSEPORT 1 and
 * have the same port, and 16 new connections to the port are all accepted by one or the other. */
#include "net.h"
#include <poll.h>

int main(void) {
  int one = 1, l[2];
  uint16_t port = 0;
  for (int i = 0; i < 2; i++) {
    l[i] = SYS(socket(AF_INET, SOCK_STREAM, 0));
    SYS(setsockopt(l[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
    struct sockaddr_in a = lo4(port);
    SYS(bind(l[i], (struct sockaddr*)&a, sizeof a));
    SYS(listen(l[i], 32));
    port = port_of(l[i]);
  }

  ready_wait();

  for (int i = 0; i < 2; i++) {
    CHECK(getint(l[i], SOL_SOCKET, SO_REUSEPORT) == 1, "listener %d: SO_REUSEPORT reads %d", i, getint(l[i], SOL_SOCKET, SO_REUSEPORT));
    CHECK(port_of(l[i]) == port, "listener %d port %u, want %u", i, port_of(l[i]), port);
    CHECK(getint(l[i], SOL_SOCKET, SO_ACCEPTCONN) == 1, "listener %d is not listening", i);
  }
  for (int i = 0; i < 16; i++) tcp_connect(port);
  int got = 0;
  for (int tries = 0; got < 16 && tries < 100; tries++) {
    struct pollfd p[2] = {{.fd = l[0], .events = POLLIN}, {.fd = l[1], .events = POLLIN}};
    if (poll(p, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; i++)
      if (p[i].revents & POLLIN) got += accept(l[i], NULL, NULL) >= 0;
  }
  CHECK(got == 16, "accepted %d of 16 connections", got);
  pass();
}
