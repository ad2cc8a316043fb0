/* A TCP connection whose peer (our child) sent 5000 bytes and exited: our end is in CLOSE_WAIT with
 * the bytes unread and the FIN behind them. After restart TCP_INFO still says CLOSE_WAIT, the 5000
 * bytes read back in order, then EOF (read returns 0), and the local and peer ports are the same. */
#include "net.h"

int main(void) {
  int l = tcp_listener(4);
  uint16_t port = port_of(l);
  static char b[5000];
  fill_pattern(b, sizeof b, 321);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int c = tcp_connect(port);
    write_all(c, b, sizeof b);
    _exit(0);
  }
  int s = SYS(accept(l, NULL, NULL));
  int st;
  SYS(waitpid(kid, &st, 0));
  /* the FIN is behind the bytes: wait until the state says the peer closed */
  struct tcp_info ti;
  socklen_t tl = sizeof ti;
  for (int i = 0; i < 5000; i++) {
    tl = sizeof ti;
    SYS(getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl));
    if (ti.tcpi_state == TCP_CLOSE_WAIT) break;
    usleep(2000);
  }
  if (ti.tcpi_state != TCP_CLOSE_WAIT) fail("setup: the state is %d, never CLOSE_WAIT", ti.tcpi_state);
  struct sockaddr_in pa;
  socklen_t pl = sizeof pa;
  SYS(getpeername(s, (struct sockaddr*)&pa, &pl));
  uint16_t pport = ntohs(pa.sin_port);

  ready_wait();

  tl = sizeof ti;
  SYS(getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tl));
  CHECK(ti.tcpi_state == TCP_CLOSE_WAIT, "TCP state %d, want CLOSE_WAIT (%d)", ti.tcpi_state, TCP_CLOSE_WAIT);
  CHECK(port_of(s) == port, "local port %u, want %u", port_of(s), port);
  pl = sizeof pa;
  CHECK(!getpeername(s, (struct sockaddr*)&pa, &pl) && ntohs(pa.sin_port) == pport, "peer port %u, want %u", ntohs(pa.sin_port), pport);
  static char r[5000];
  read_exact(s, r, sizeof r, "the peer's bytes");
  int at = check_pattern(r, sizeof r, 321);
  CHECK(at < 0, "the peer's bytes differ at %d", at);
  char c;
  ssize_t n = read(s, &c, 1);
  CHECK(n == 0, "after the bytes read returned %zd (%s), want EOF", n, n < 0 ? strerror(errno) : "data");
  pass();
}
