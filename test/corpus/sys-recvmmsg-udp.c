/* recvmmsg(MSG_WAITFORONE, no timeout) for up to 4 datagrams on a bound UDP socket, blocked across
 * the checkpoint; only the go line (read by a thread, which then sends 3 datagrams) may end it. It
 * must return 1 to 3 messages (never EINTR), each whole and in order, and the rest come out after. */
#include "net.h"

static int rx, tx;
static void send3(void) {
  struct sockaddr_in a = lo4(port_of(rx));
  for (int i = 0; i < 3; i++) {
    char m[16];
    int n = snprintf(m, sizeof m, "msg-%d", i);
    if (sendto(tx, m, (size_t)n, 0, (struct sockaddr*)&a, sizeof a) != n) fail("sendto: %s", strerror(errno));
  }
}

int main(void) {
  rx = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  tx = SYS(socket(AF_INET, SOCK_DGRAM, 0));
  struct sockaddr_in a = lo4(0);
  SYS(bind(rx, (struct sockaddr*)&a, sizeof a));
  ready();
  line_thread(send3);
  char bufs[4][32];
  struct iovec iov[4];
  struct mmsghdr mm[4];
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 4; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = sizeof bufs[i];
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(rx, mm, 4, MSG_WAITFORONE, NULL);
  CHECK(n >= 0, "recvmmsg: %s", strerror(errno));
  CHECK(line_seen, "recvmmsg returned %d before the go line", n);
  CHECK(n >= 1 && n <= 3, "recvmmsg returned %d messages", n);
  int next = 0;
  for (int i = 0; i < n; i++, next++) {
    char want[16];
    int w = snprintf(want, sizeof want, "msg-%d", next);
    CHECK((int)mm[i].msg_len == w && !memcmp(bufs[i], want, (size_t)w), "message %d: %u bytes", i, mm[i].msg_len);
  }
  for (; next < 3; next++) {
    char b[32], want[16];
    int w = snprintf(want, sizeof want, "msg-%d", next);
    ssize_t r = recv(rx, b, sizeof b, 0);
    CHECK(r == w && !memcmp(b, want, (size_t)w), "later message %d: %zd", next, r);
  }
  pass();
}
