/* An IPv6-only TCP listener (IPV6_V6ONLY 1) on [::1]:<port>, with a plain IPv4 listener of ours on
 * 127.0.0.1 at the same port number (possible only because the first is IPv6-only). After restart
 * IPV6_V6ONLY still reads 1, the IPv6 listener takes an IPv6 client, an IPv4 client to the port
 * reaches the IPv4 listener (not the IPv6 one), and both are still bound to the one port. */
#include "net.h"
#include <poll.h>

static int accept_within(int l, int ms) {
  struct pollfd p = {.fd = l, .events = POLLIN};
  if (poll(&p, 1, ms) != 1) return -1;
  return accept(l, NULL, NULL);
}

int main(void) {
  int l6 = socket(AF_INET6, SOCK_STREAM, 0);
  if (l6 < 0) skip("no IPv6 sockets: %s", strerror(errno));
  int one = 1;
  SYS(setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  if (bind(l6, (struct sockaddr*)&a6, sizeof a6)) skip("bind [::1]: %s", strerror(errno));
  SYS(listen(l6, 4));
  uint16_t port = port_of(l6);
  int l4 = SYS(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in a4 = lo4(port);
  if (bind(l4, (struct sockaddr*)&a4, sizeof a4)) fail("setup: bind 127.0.0.1:%u next to the IPv6-only listener: %s", port, strerror(errno));
  SYS(listen(l4, 4));

  ready_wait();

  CHECK(getint(l6, IPPROTO_IPV6, IPV6_V6ONLY) == 1, "IPV6_V6ONLY %d, want 1", getint(l6, IPPROTO_IPV6, IPV6_V6ONLY));
  CHECK(port_of(l6) == port && port_of(l4) == port, "ports %u/%u, want %u", port_of(l6), port_of(l4), port);
  struct sockaddr_in6 got;
  socklen_t gl = sizeof got;
  SYS(getsockname(l6, (struct sockaddr*)&got, &gl));
  CHECK(got.sin6_family == AF_INET6 && !memcmp(&got.sin6_addr, &in6addr_loopback, 16), "the IPv6 listener is not on [::1]");
  int c6 = SYS(socket(AF_INET6, SOCK_STREAM, 0));
  a6.sin6_port = htons(port);
  CHECK(!connect(c6, (struct sockaddr*)&a6, sizeof a6), "connect [::1]:%u: %s", port, strerror(errno));
  int s6 = accept_within(l6, 5000);
  CHECK(s6 >= 0, "the IPv6 listener took no IPv6 client");
  int c4 = tcp_connect(port);
  int s4 = accept_within(l4, 5000);
  CHECK(s4 >= 0, "the IPv4 listener took no IPv4 client");
  struct pollfd p = {.fd = l6, .events = POLLIN};
  CHECK(poll(&p, 1, 0) == 0, "the IPv6-only listener has a pending connection too");
  write_all(c6, "6", 1);
  write_all(c4, "4", 1);
  char b;
  read_exact(s6, &b, 1, "v6");
  CHECK(b == '6', "v6 byte");
  read_exact(s4, &b, 1, "v4");
  CHECK(b == '4', "v4 byte");
  pass();
}
