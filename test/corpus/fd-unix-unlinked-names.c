/* Unix sockets whose path was unlinked while they live (a server that removes its socket file
 * once its clients are connected; a datagram receiver whose name was cleaned up): a listener with
 * an accepted connection, and a datagram socket bound to a path with two messages queued from a
 * connected sender. After restart: no socket file is at either path (nothing was re-created that a
 * new client could reach), getsockname still names each path, the connection carries bytes both
 * ways, and the datagrams arrive in order with their boundaries. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void) {
  struct sockaddr_un ls = {.sun_family = AF_UNIX, .sun_path = "gone-listener.sock"};
  struct sockaddr_un ds = {.sun_family = AF_UNIX, .sun_path = "gone-dgram.sock"};
  int l = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  SYS(bind(l, (struct sockaddr*)&ls, sizeof ls));
  SYS(listen(l, 4));
  int c = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  SYS(connect(c, (struct sockaddr*)&ls, sizeof ls));
  int s = SYS(accept(l, NULL, NULL));
  int d = SYS(socket(AF_UNIX, SOCK_DGRAM, 0));
  SYS(bind(d, (struct sockaddr*)&ds, sizeof ds));
  int snd = SYS(socket(AF_UNIX, SOCK_DGRAM, 0));
  SYS(connect(snd, (struct sockaddr*)&ds, sizeof ds));
  SYS(unlink(ls.sun_path));
  SYS(unlink(ds.sun_path));
  CHECK(send(snd, "first", 5, 0) == 5, "send: %s", strerror(errno));
  CHECK(send(snd, "second!", 7, 0) == 7, "send: %s", strerror(errno));
  write_all(c, "up", 2);

  ready_wait();

  struct stat st;
  CHECK(lstat(ls.sun_path, &st) < 0 && errno == ENOENT, "something is at the listener's unlinked path after restart");
  CHECK(lstat(ds.sun_path, &st) < 0 && errno == ENOENT, "something is at the datagram socket's unlinked path after restart");
  struct sockaddr_un g;
  socklen_t gl = sizeof g;
  SYS(getsockname(l, (struct sockaddr*)&g, &gl));
  CHECK(!strcmp(g.sun_path, ls.sun_path), "the listener's name is '%s'", g.sun_path);
  gl = sizeof g;
  SYS(getsockname(d, (struct sockaddr*)&g, &gl));
  CHECK(!strcmp(g.sun_path, ds.sun_path), "the datagram socket's name is '%s'", g.sun_path);
  char b[16];
  read_exact(s, b, 2, "the connection");
  CHECK(!memcmp(b, "up", 2), "the connection's bytes differ");
  write_all(s, "down", 4);
  read_exact(c, b, 4, "the connection back");
  CHECK(!memcmp(b, "down", 4), "the connection's bytes back differ");
  ssize_t n = recv(d, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 5 && !memcmp(b, "first", 5), "first datagram: %zd bytes", n);
  n = recv(d, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 7 && !memcmp(b, "second!", 7), "second datagram: %zd bytes", n);
  CHECK(send(snd, "third", 5, 0) == 5, "the sender cannot send to its peer after restart: %s", strerror(errno));
  n = recv(d, b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 5 && !memcmp(b, "third", 5), "third datagram: %zd bytes", n);
  pass();
}
