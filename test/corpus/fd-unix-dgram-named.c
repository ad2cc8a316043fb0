/* A Unix datagram socket bound to a path, one message queued to it from a second (unbound)
 * socket: after restart getsockname is the same path, the message is there, and a brand-new socket
 * sending to the path reaches us (it is still bound there). */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "dgram.sock"};
  int s = SYS(socket(AF_UNIX, SOCK_DGRAM, 0));
  SYS(bind(s, (struct sockaddr*)&a, sizeof a));
  int c = SYS(socket(AF_UNIX, SOCK_DGRAM, 0));
  SYS(sendto(c, "queued message", 14, 0, (struct sockaddr*)&a, sizeof a));

  ready_wait();

  struct sockaddr_un g;
  socklen_t gl = sizeof g;
  SYS(getsockname(s, (struct sockaddr*)&g, &gl));
  CHECK(gl > sizeof(sa_family_t) && !strcmp(g.sun_path, "dgram.sock"), "getsockname: '%s', want 'dgram.sock'", gl > 2 ? g.sun_path : "(unbound)");
  char b[64];
  ssize_t n = recv(s, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 14 && !memcmp(b, "queued message", 14), "the queued message: %zd (%s)", n, n < 0 ? strerror(errno) : "");
  int d = SYS(socket(AF_UNIX, SOCK_DGRAM, 0));
  n = sendto(d, "new", 3, 0, (struct sockaddr*)&a, sizeof a);
  CHECK(n == 3, "sendto the path: %s", strerror(errno));
  n = recv(s, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 3 && !memcmp(b, "new", 3), "a datagram sent to the path did not reach us (%zd)", n);
  pass();
}
