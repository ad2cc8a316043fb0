/* A UDP socket bound to 127.0.0.1:<port> with two datagrams queued (from a second bound socket of
 * ours): after restart both come back whole, in order, with the sender's address; the port is the
 * same and a new datagram to it arrives. */
#include "net.h"

int main(void) {
  int s = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  struct sockaddr_in a = lo4(0);
  SYS(bind(s, (struct sockaddr*)&a, sizeof a));
  uint16_t port = port_of(s);
  int c = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  SYS(bind(c, (struct sockaddr*)&a, sizeof a));
  uint16_t cport = port_of(c);
  struct sockaddr_in to = lo4(port);
  SYS(sendto(c, "first", 5, 0, (struct sockaddr*)&to, sizeof to));
  SYS(sendto(c, "second datagram", 15, 0, (struct sockaddr*)&to, sizeof to));
  wait_queued(s, 1);

  ready_wait();

  CHECK(port_of(s) == port, "port %u, want %u", port_of(s), port);
  const char* want[] = {"first", "second datagram"};
  for (int i = 0; i < 2; i++) {
    char b[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s, b, sizeof b, MSG_DONTWAIT, (struct sockaddr*)&from, &fl);
    CHECK(n >= 0, "datagram %d: %s", i + 1, strerror(errno));
    CHECK((size_t)n == strlen(want[i]) && !memcmp(b, want[i], (size_t)n), "datagram %d: %zd bytes", i + 1, n);
    CHECK(ntohs(from.sin_port) == cport && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "datagram %d from port %u, want %u", i + 1,
          ntohs(from.sin_port), cport);
  }
  CHECK(port_of(c) == cport, "sender port %u, want %u", port_of(c), cport);
  SYS(sendto(c, "third", 5, 0, (struct sockaddr*)&to, sizeof to));
  wait_queued(s, 1);
  char b[16];
  CHECK(recv(s, b, sizeof b, MSG_DONTWAIT) == 5 && !memcmp(b, "third", 5), "a new datagram did not arrive");
  pass();
}
