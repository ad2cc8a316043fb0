/* recvfrom() with no timeout on a bound UDP socket (127.0.0.1), blocked across the checkpoint; only
 * the go line (read by a thread, which then sends one datagram from a second bound socket) may end
 * it. recvfrom must return that datagram whole, with the sender's address and port, never EINTR. */
#include "net.h"

static int rx, tx;
static void send_one(void) {
  struct sockaddr_in a = lo4(port_of(rx));
  if (sendto(tx, "datagram-1", 10, 0, (struct sockaddr*)&a, sizeof a) != 10) fail("sendto: %s", strerror(errno));
}

int main(void) {
  rx = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  tx = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  struct sockaddr_in a = lo4(0);
  SYS(bind(rx, (struct sockaddr*)&a, sizeof a));
  SYS(bind(tx, (struct sockaddr*)&a, sizeof a));
  uint16_t txport = port_of(tx);
  ready();
  line_thread(send_one);
  char b[64];
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  memset(&from, 0, sizeof from);
  ssize_t n = recvfrom(rx, b, sizeof b, 0, (struct sockaddr*)&from, &fl);
  CHECK(n >= 0, "recvfrom: %s", strerror(errno));
  CHECK(line_seen, "recvfrom returned %zd before the go line", n);
  CHECK(n == 10 && !memcmp(b, "datagram-1", 10), "recvfrom returned %zd bytes", n);
  CHECK(fl == sizeof from && from.sin_family == AF_INET && ntohs(from.sin_port) == txport &&
            from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
        "recvfrom's source: family %d port %d (want %d) len %u", from.sin_family, ntohs(from.sin_port), txport, fl);
  SYS(fcntl(rx, F_SETFL, O_NONBLOCK));
  CHECK(recv(rx, b, sizeof b, 0) < 0 && errno == EAGAIN, "a second datagram is queued");
  pass();
}
