/* A Unix datagram socketpair with three messages queued (1, 100 and 3000 bytes, unread): after
 * restart three recv calls with a large buffer return exactly those three messages, in order, each
 * whole (message boundaries kept), then EAGAIN; the pair still carries new datagrams both ways. */
#include "corpus.h"
#include <sys/socket.h>

int main(void) {
  int sv[2];
  SYS(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
  static char m[3][3000];
  size_t len[3] = {1, 100, 3000};
  for (int i = 0; i < 3; i++) {
    fill_pattern(m[i], len[i], 50 + (uint32_t)i);
    SYS(send(sv[0], m[i], len[i], 0));
  }

  ready_wait();

  char b[8192];
  for (int i = 0; i < 3; i++) {
    ssize_t n = recv(sv[1], b, sizeof b, MSG_DONTWAIT);
    CHECK(n >= 0, "message %d: %s", i + 1, strerror(errno));
    CHECK((size_t)n == len[i], "message %d is %zd bytes, want %zu (boundaries lost)", i + 1, n, len[i]);
    CHECK(!memcmp(b, m[i], len[i]), "message %d bytes differ", i + 1);
  }
  CHECK(recv(sv[1], b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN, "a fourth message");
  int type;
  socklen_t tl = sizeof type;
  SYS(getsockopt(sv[1], SOL_SOCKET, SO_TYPE, &type, &tl));
  CHECK(type == SOCK_DGRAM, "socket type %d, want SOCK_DGRAM", type);
  SYS(send(sv[1], "back", 4, 0));
  CHECK(recv(sv[0], b, sizeof b, MSG_DONTWAIT) == 4 && !memcmp(b, "back", 4), "a new datagram did not arrive");
  pass();
}
