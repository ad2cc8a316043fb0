/* A UDP socket bound to 127.0.0.1 with IP_PKTINFO on and four datagrams queued from three senders
 * (each its own bound socket, the second one sending twice): after restart IP_PKTINFO is still on,
 * the four come back in order, each whole, with its sender's address and port, and an IP_PKTINFO
 * control message naming 127.0.0.1 as the destination. */
#include "net.h"

int main(void) {
  int r = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  struct sockaddr_in a = lo4(0);
  SYS(bind(r, (struct sockaddr*)&a, sizeof a));
  int on = 1;
  SYS(setsockopt(r, IPPROTO_IP, IP_PKTINFO, &on, sizeof on));
  struct sockaddr_in to = lo4(port_of(r));
  int s[3];
  uint16_t sp[3];
  for (int i = 0; i < 3; i++) {
    s[i] = SYS(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in b = lo4(0);
    SYS(bind(s[i], (struct sockaddr*)&b, sizeof b));
    sp[i] = port_of(s[i]);
  }
  int from[4] = {0, 1, 2, 1};
  int len[4] = {17, 1200, 3, 400};
  static char buf[2000];
  for (int k = 0; k < 4; k++) {
    fill_pattern(buf, (size_t)len[k], 330 + (uint32_t)k);
    SYS(sendto(s[from[k]], buf, (size_t)len[k], 0, (struct sockaddr*)&to, sizeof to));
  }
  /* loopback delivers in sendto itself: all four are queued now */

  ready_wait();

  CHECK(getint(r, IPPROTO_IP, IP_PKTINFO) == 1, "IP_PKTINFO is %d, want 1", getint(r, IPPROTO_IP, IP_PKTINFO));
  for (int k = 0; k < 4; k++) {
    struct sockaddr_in f;
    char cb[256];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr mh = {.msg_name = &f, .msg_namelen = sizeof f, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb};
    ssize_t n = recvmsg(r, &mh, MSG_DONTWAIT);
    CHECK(n == len[k], "datagram %d: %zd bytes (%s), want %d", k, n, n < 0 ? strerror(errno) : "", len[k]);
    CHECK(check_pattern(buf, (size_t)n, 330 + (uint32_t)k) < 0, "datagram %d: bytes differ", k);
    CHECK(ntohs(f.sin_port) == sp[from[k]] && f.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "datagram %d: from %s:%u, want 127.0.0.1:%u", k, inet_ntoa(f.sin_addr), ntohs(f.sin_port), sp[from[k]]);
    int seen = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof pi);
        CHECK(pi.ipi_addr.s_addr == htonl(INADDR_LOOPBACK), "datagram %d: IP_PKTINFO destination %s", k, inet_ntoa(pi.ipi_addr));
        seen = 1;
      }
    }
    CHECK(seen, "datagram %d: no IP_PKTINFO control message", k);
  }
  char c;
  CHECK(recv(r, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "a fifth datagram was there");
  SYS(sendto(s[2], "new", 3, 0, (struct sockaddr*)&to, sizeof to));
  struct sockaddr_in f;
  socklen_t fl = sizeof f;
  CHECK(recvfrom(r, buf, sizeof buf, 0, (struct sockaddr*)&f, &fl) == 3 && ntohs(f.sin_port) == sp[2], "a new datagram does not arrive from its sender");
  pass();
}
