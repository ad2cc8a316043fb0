/* An unconnected TCP socket with options set (SO_REUSEADDR, SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT,
 * TCP_NODELAY, SO_RCVBUF, SO_SNDBUF, SO_LINGER, IP_TOS): after restart each reads back the same,
 * and the socket still connects to a listener. */
#include "net.h"

struct opt { int level, name, val; const char* what; };

int main(void) {
  int s = SYS(socket(AF_INET, SOCK_STREAM, 0));
  struct opt o[] = {
      {SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"}, {SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"},
      {IPPROTO_TCP, TCP_KEEPIDLE, 77, "TCP_KEEPIDLE"}, {IPPROTO_TCP, TCP_KEEPINTVL, 11, "TCP_KEEPINTVL"},
      {IPPROTO_TCP, TCP_KEEPCNT, 5, "TCP_KEEPCNT"},   {IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY"},
      {SOL_SOCKET, SO_RCVBUF, 40000, "SO_RCVBUF"},    {SOL_SOCKET, SO_SNDBUF, 50000, "SO_SNDBUF"},
      {IPPROTO_IP, IP_TOS, 0x10, "IP_TOS"},
  };
  int n = (int)(sizeof o / sizeof o[0]), want[16];
  for (int i = 0; i < n; i++) {
    SYS(setsockopt(s, o[i].level, o[i].name, &o[i].val, sizeof o[i].val));
    want[i] = getint(s, o[i].level, o[i].name);
  }
  struct linger lg = {1, 3};
  SYS(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  int l = tcp_listener(4);

  ready_wait();

  CHECK(getint(s, SOL_SOCKET, SO_TYPE) == SOCK_STREAM, "not a TCP socket any more (SO_TYPE %d)", getint(s, SOL_SOCKET, SO_TYPE));
  for (int i = 0; i < n; i++) {
    int v = getint(s, o[i].level, o[i].name);
    CHECK(v == want[i], "%s reads %d, want %d", o[i].what, v, want[i]);
  }
  struct linger g;
  socklen_t gl = sizeof g;
  SYS(getsockopt(s, SOL_SOCKET, SO_LINGER, &g, &gl));
  CHECK(g.l_onoff == 1 && g.l_linger == 3, "SO_LINGER %d/%d, want 1/3", g.l_onoff, g.l_linger);
  struct sockaddr_in a = lo4(port_of(l));
  CHECK(!connect(s, (struct sockaddr*)&a, sizeof a), "connect: %s", strerror(errno));
  CHECK(accept(l, NULL, NULL) >= 0, "accept: %s", strerror(errno));
  pass();
}
