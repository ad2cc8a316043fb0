/* A UDP-Lite socket (IPPROTO_UDPLITE) bound on loopback with send/receive checksum coverage set
 * (UDPLITE_SEND_CSCOV 20, UDPLITE_RECV_CSCOV 12) and a datagram queued: after restart it is still
 * UDP-Lite (SO_PROTOCOL) with the same coverage, the datagram is there, and new ones arrive. */
#include "net.h"
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

int main(void) {
  int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
  if (s < 0) skip("UDP-Lite not available: %s", strerror(errno));
  int v = 20;
  SYS(setsockopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, &v, sizeof v));
  v = 12;
  SYS(setsockopt(s, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, &v, sizeof v));
  struct sockaddr_in a = lo4(0);
  SYS(bind(s, (struct sockaddr*)&a, sizeof a));
  uint16_t port = port_of(s);
  struct sockaddr_in to = lo4(port);
  SYS(sendto(s, "lite datagram", 13, 0, (struct sockaddr*)&to, sizeof to));
  wait_queued(s, 1);

  ready_wait();

  CHECK(getint(s, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_UDPLITE, "protocol %d, want UDP-Lite", getint(s, SOL_SOCKET, SO_PROTOCOL));
  CHECK(getint(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV) == 20, "send coverage %d, want 20", getint(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV));
  CHECK(getint(s, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV) == 12, "recv coverage %d, want 12", getint(s, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV));
  CHECK(port_of(s) == port, "port %u, want %u", port_of(s), port);
  char b[32];
  ssize_t n = recv(s, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 13 && !memcmp(b, "lite datagram", 13), "the queued datagram: %zd", n);
  SYS(sendto(s, "new", 3, 0, (struct sockaddr*)&to, sizeof to));
  wait_queued(s, 1);
  CHECK(recv(s, b, sizeof b, MSG_DONTWAIT) == 3, "a new datagram did not arrive");
  pass();
}
