/* Knobs a server sets on an accepted TCP socket: TCP_CORK on, SO_LINGER {1, 7 s}, TCP_KEEPINTVL 9,
 * TCP_KEEPCNT 4, TCP_NOTSENT_LOWAT 16384, IP_TOS 0x10, SO_PRIORITY 3, SO_SNDBUF 100000. After
 * restart each reads back the same, and once TCP_CORK is cleared the 10 bytes written arrive. (Linux
 * holds a corked partial segment 200 ms at most, so that delay is not a test.) */
#include "net.h"

int main(void) {
  int l = tcp_listener(4);
  uint16_t port = port_of(l);
  int up[2];
  SYS(pipe(up));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(l);
    close(up[0]);
    int c = tcp_connect(port);
    char b[10];
    read_exact(c, b, 10, "child");
    char ok = (char)!memcmp(b, "0123456789", 10);
    write_all(up[1], &ok, 1);
    read(c, b, 1);
    _exit(0);
  }
  peer(kid);
  close(up[1]);
  int s = SYS(accept(l, NULL, NULL));
  int one = 1, intvl = 9, cnt = 4, low = 16384, tos = 0x10, prio = 3, sb = 100000;
  struct linger lg = {1, 7};
  SYS(setsockopt(s, IPPROTO_TCP, TCP_CORK, &one, sizeof one));
  SYS(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  SYS(setsockopt(s, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl));
  SYS(setsockopt(s, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt));
  SYS(setsockopt(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &low, sizeof low));
  SYS(setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof tos));
  SYS(setsockopt(s, SOL_SOCKET, SO_PRIORITY, &prio, sizeof prio));
  SYS(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb));
  int sndbuf = getint(s, SOL_SOCKET, SO_SNDBUF);

  ready_wait();

  CHECK(getint(s, IPPROTO_TCP, TCP_CORK) == 1, "TCP_CORK %d, want 1", getint(s, IPPROTO_TCP, TCP_CORK));
  struct linger g = {0, 0};
  socklen_t gl = sizeof g;
  CHECK(!getsockopt(s, SOL_SOCKET, SO_LINGER, &g, &gl), "SO_LINGER: %s", strerror(errno));
  CHECK(g.l_onoff == 1 && g.l_linger == 7, "SO_LINGER {%d, %d}, want {1, 7}", g.l_onoff, g.l_linger);
  CHECK(getint(s, IPPROTO_TCP, TCP_KEEPINTVL) == 9, "TCP_KEEPINTVL %d, want 9", getint(s, IPPROTO_TCP, TCP_KEEPINTVL));
  CHECK(getint(s, IPPROTO_TCP, TCP_KEEPCNT) == 4, "TCP_KEEPCNT %d, want 4", getint(s, IPPROTO_TCP, TCP_KEEPCNT));
  CHECK(getint(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT) == 16384, "TCP_NOTSENT_LOWAT %d, want 16384",
        getint(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT));
  CHECK(getint(s, IPPROTO_IP, IP_TOS) == 0x10, "IP_TOS %#x, want 0x10", getint(s, IPPROTO_IP, IP_TOS));
  CHECK(getint(s, SOL_SOCKET, SO_PRIORITY) == 3, "SO_PRIORITY %d, want 3", getint(s, SOL_SOCKET, SO_PRIORITY));
  CHECK(getint(s, SOL_SOCKET, SO_SNDBUF) == sndbuf, "SO_SNDBUF %d, want %d", getint(s, SOL_SOCKET, SO_SNDBUF), sndbuf);
  write_all(s, "0123456789", 10);
  int zero = 0;
  SYS(setsockopt(s, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero));
  char ok;
  read_exact(up[0], &ok, 1, "child's report");
  CHECK(ok == 1, "the peer received other bytes");
  pass();
}
