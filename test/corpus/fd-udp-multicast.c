/* A UDP socket that joined a multicast group (IP_ADD_MEMBERSHIP 239.1.2.3 on the loopback
 * interface) and a sender with IP_MULTICAST_IF loopback and IP_MULTICAST_LOOP on. After restart
 * the receiver is still a member: a datagram sent to the group arrives; after IP_DROP_MEMBERSHIP
 * (which fails with EADDRNOTAVAIL if it was not a member) none does. SKIP where loopback does not
 * carry multicast. */
#include "net.h"
#include <poll.h>

static struct ip_mreq mr;

static int got_one(int r, int ms) {
  struct pollfd p = {.fd = r, .events = POLLIN};
  if (poll(&p, 1, ms) != 1) return 0;
  char b[16];
  return recv(r, b, sizeof b, MSG_DONTWAIT) > 0;
}

int main(void) {
  int r = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  int one = 1;
  SYS(setsockopt(r, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  SYS(bind(r, (struct sockaddr*)&a, sizeof a));
  uint16_t port = port_of(r);
  mr.imr_multiaddr.s_addr = inet_addr("239.1.2.3");
  mr.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
  if (setsockopt(r, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr)) skip("IP_ADD_MEMBERSHIP on loopback: %s", strerror(errno));
  int s = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
  SYS(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo));
  SYS(setsockopt(s, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one));
  struct sockaddr_in g = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = mr.imr_multiaddr};
  if (sendto(s, "m0", 2, 0, (struct sockaddr*)&g, sizeof g) != 2) skip("sendto the group: %s", strerror(errno));
  if (!got_one(r, 2000)) skip("loopback does not carry multicast here");

  ready_wait();

  CHECK(sendto(s, "m1", 2, 0, (struct sockaddr*)&g, sizeof g) == 2, "sendto the group after restart: %s", strerror(errno));
  CHECK(got_one(r, 3000), "a datagram to the group did not arrive after restart (membership lost)");
  int d = setsockopt(r, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mr, sizeof mr);
  CHECK(d == 0, "IP_DROP_MEMBERSHIP: %s (not a member any more)", strerror(errno));
  SYS(sendto(s, "m2", 2, 0, (struct sockaddr*)&g, sizeof g));
  CHECK(!got_one(r, 300), "a datagram to the group arrived after leaving it");
  pass();
}
