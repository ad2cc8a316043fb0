/* An unprivileged ICMP "ping" socket (SOCK_DGRAM, IPPROTO_ICMP) with an echo reply from 127.0.0.1
 * queued: after restart it is still an ICMP socket, the reply (our id and sequence, our payload)
 * is there, and a new echo request gets a reply. SKIP when ping_group_range forbids it. */
#include "net.h"
#include <netinet/ip_icmp.h>

static void echo(int s, uint16_t seq) {
  struct icmphdr h = {.type = ICMP_ECHO};
  h.un.echo.sequence = htons(seq);
  char pkt[sizeof h + 8];
  memcpy(pkt, &h, sizeof h);
  memcpy(pkt + sizeof h, "corpus!!", 8);
  struct sockaddr_in to = lo4(0);
  SYS(sendto(s, pkt, sizeof pkt, 0, (struct sockaddr*)&to, sizeof to));
}

static int reply(int s, uint16_t seq) {
  char b[128];
  ssize_t n = recv(s, b, sizeof b, MSG_DONTWAIT);
  if (n < (ssize_t)sizeof(struct icmphdr) + 8) return -1;
  struct icmphdr h;
  memcpy(&h, b, sizeof h);
  if (h.type != ICMP_ECHOREPLY || ntohs(h.un.echo.sequence) != seq || memcmp(b + sizeof h, "corpus!!", 8)) return -2;
  return 0;
}

int main(void) {
  int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (s < 0 && (errno == EACCES || errno == EPERM)) skip("ping sockets forbidden by net.ipv4.ping_group_range");
  if (s < 0) fail("socket(ICMP): %s", strerror(errno));
  echo(s, 7);
  wait_queued(s, 1);

  ready_wait();

  CHECK(getint(s, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_ICMP, "protocol %d, want ICMP", getint(s, SOL_SOCKET, SO_PROTOCOL));
  int r = reply(s, 7);
  CHECK(r == 0, "the queued echo reply %s", r == -1 ? "is gone" : "differs");
  echo(s, 8);
  wait_queued(s, 1);
  CHECK(reply(s, 8) == 0, "no reply to a new echo request");
  pass();
}
