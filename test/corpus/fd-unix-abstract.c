/* A Unix stream listener in the abstract namespace ("\0corpus-<pid>"), one connection pending
 * (connected, data sent, not accepted): after restart getsockname is the same abstract name,
 * accept returns the pending connection with its data, and a new connect to the name works. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "corpus-abstract-%d", (int)getpid()) + 1;
  socklen_t al = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len);
  int l = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  SYS(bind(l, (struct sockaddr*)&a, al));
  SYS(listen(l, 8));
  int c = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  SYS(connect(c, (struct sockaddr*)&a, al));
  write_all(c, "pending", 7);

  ready_wait();

  struct sockaddr_un g;
  socklen_t gl = sizeof g;
  SYS(getsockname(l, (struct sockaddr*)&g, &gl));
  CHECK(gl == al && !memcmp(&g, &a, al), "getsockname is not the abstract name (len %u, want %u)", gl, al);
  SYS(fcntl(l, F_SETFL, O_NONBLOCK));
  int s = accept(l, NULL, NULL);
  CHECK(s >= 0, "accept of the pending connection: %s", strerror(errno));
  char b[16];
  ssize_t n = recv(s, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 7 && !memcmp(b, "pending", 7), "data of the pending connection: %zd", n);
  write_all(s, "reply", 5);
  CHECK(recv(c, b, sizeof b, 0) == 5 && !memcmp(b, "reply", 5), "the client end does not get the reply");
  int d = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  CHECK(!connect(d, (struct sockaddr*)&a, al), "a new connect to the abstract name: %s", strerror(errno));
  int s2 = accept(l, NULL, NULL);
  CHECK(s2 >= 0, "accept of the new connection: %s", strerror(errno));
  pass();
}
