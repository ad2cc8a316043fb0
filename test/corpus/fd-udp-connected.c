/* Two UDP sockets connected to each other on loopback, one datagram queued each way: after
 * restart getpeername is unchanged, the queued datagrams are there, send() without an address
 * reaches the peer, and a datagram from a third socket is still filtered out (connected UDP). */
#include "net.h"

int main(void) {
  struct sockaddr_in any = lo4(0);
  int a = SYS(socket(AF_INET, SOCK_DGRAM, 0)), b = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  SYS(bind(a, (struct sockaddr*)&any, sizeof any));
  SYS(bind(b, (struct sockaddr*)&any, sizeof any));
  uint16_t pa = port_of(a), pb = port_of(b);
  struct sockaddr_in ta = lo4(pa), tb = lo4(pb);
  SYS(connect(a, (struct sockaddr*)&tb, sizeof tb));
  SYS(connect(b, (struct sockaddr*)&ta, sizeof ta));
  SYS(send(a, "a->b", 4, 0));
  SYS(send(b, "b->a", 4, 0));
  wait_queued(a, 4);
  wait_queued(b, 4);

  ready_wait();

  struct sockaddr_in p;
  socklen_t pl = sizeof p;
  CHECK(!getpeername(a, (struct sockaddr*)&p, &pl), "getpeername: %s (not connected)", strerror(errno));
  CHECK(ntohs(p.sin_port) == pb, "peer port %u, want %u", ntohs(p.sin_port), pb);
  CHECK(port_of(a) == pa && port_of(b) == pb, "local ports %u %u, want %u %u", port_of(a), port_of(b), pa, pb);
  char m[16];
  CHECK(recv(a, m, sizeof m, MSG_DONTWAIT) == 4 && !memcmp(m, "b->a", 4), "queued datagram to a is gone");
  CHECK(recv(b, m, sizeof m, MSG_DONTWAIT) == 4 && !memcmp(m, "a->b", 4), "queued datagram to b is gone");
  CHECK(send(a, "again", 5, 0) == 5, "send without an address: %s", strerror(errno));
  wait_queued(b, 5);
  CHECK(recv(b, m, sizeof m, MSG_DONTWAIT) == 5, "the new datagram did not reach the peer");
  int x = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  SYS(sendto(x, "stranger", 8, 0, (struct sockaddr*)&ta, sizeof ta));
  SYS(send(b, "peer", 4, 0));
  wait_queued(a, 4);
  ssize_t n = recv(a, m, sizeof m, MSG_DONTWAIT);
  CHECK(n == 4 && !memcmp(m, "peer", 4), "a connected socket accepted a stranger's datagram (%zd bytes)", n);
  pass();
}
