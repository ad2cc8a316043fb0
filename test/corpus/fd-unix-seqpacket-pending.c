/* A Unix SOCK_SEQPACKET listener bound to a path with two connections in its accept queue (their
 * client ends are ours), each having sent records before being accepted: 2 records (9 and 400
 * bytes) on the first, 1 (3000 bytes) on the second. After restart accept returns them in order
 * (the first has its two records, each whole, the second its one), replies reach the clients, and
 * a new client can connect to the path. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

static void rec(int fd, size_t want, uint32_t seed, const char* what) {
  static char b[8192];
  ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == (ssize_t)want, "%s: a record of %zd bytes (%s), want %zu", what, n, n < 0 ? strerror(errno) : "", want);
  CHECK(check_pattern(b, want, seed) < 0, "%s: the record's bytes differ", what);
}

int main(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "seq.sock"};
  int l = SYS(socket(AF_UNIX, SOCK_SEQPACKET, 0));
  SYS(bind(l, (struct sockaddr*)&a, sizeof a));
  SYS(listen(l, 8));
  int c1 = SYS(socket(AF_UNIX, SOCK_SEQPACKET, 0));
  SYS(connect(c1, (struct sockaddr*)&a, sizeof a));
  int c2 = SYS(socket(AF_UNIX, SOCK_SEQPACKET, 0));
  SYS(connect(c2, (struct sockaddr*)&a, sizeof a));
  static char b[3000];
  fill_pattern(b, 9, 311);
  SYS(send(c1, b, 9, 0));
  fill_pattern(b, 400, 312);
  SYS(send(c1, b, 400, 0));
  fill_pattern(b, 3000, 313);
  SYS(send(c2, b, 3000, 0));

  ready_wait();

  int s1 = accept(l, NULL, NULL);
  CHECK(s1 >= 0, "accept (first): %s", strerror(errno));
  int s2 = accept4(l, NULL, NULL, SOCK_NONBLOCK);
  CHECK(s2 >= 0, "accept (second): %s", strerror(errno));
  int ty = 0;
  socklen_t tl = sizeof ty;
  SYS(getsockopt(s1, SOL_SOCKET, SO_TYPE, &ty, &tl));
  CHECK(ty == SOCK_SEQPACKET, "the accepted socket is type %d, not SOCK_SEQPACKET", ty);
  rec(s1, 9, 311, "first connection, record 1");
  rec(s1, 400, 312, "first connection, record 2");
  rec(s2, 3000, 313, "second connection");
  CHECK(send(s1, "r1", 2, 0) == 2 && recv(c1, b, sizeof b, MSG_DONTWAIT) == 2, "a reply does not reach the first client");
  CHECK(send(s2, "r22", 3, 0) == 3 && recv(c2, b, sizeof b, MSG_DONTWAIT) == 3, "a reply does not reach the second client");
  int d = SYS(socket(AF_UNIX, SOCK_SEQPACKET, 0));
  CHECK(!connect(d, (struct sockaddr*)&a, sizeof a), "a new client cannot connect: %s", strerror(errno));
  pass();
}
