/* A server blocked in accept() on a TCP listener (no connection pending) across the checkpoint; only
 * the go line (read by a thread, which then connects and sends 4 bytes) may end it. accept must
 * return that connection (its peer is our client's address), never EINTR, and the bytes arrive. */
#include "net.h"

static int lst, cli = -1;
static void do_connect(void) {
  cli = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = lo4(port_of(lst));
  if (connect(cli, (struct sockaddr*)&a, sizeof a)) fail("connect: %s", strerror(errno));
  if (send(cli, "ping", 4, 0) != 4) fail("send: %s", strerror(errno));
}

int main(void) {
  lst = tcp_listener(4);
  ready();
  line_thread(do_connect);
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  int c = accept(lst, (struct sockaddr*)&peer, &pl);
  CHECK(c >= 0, "accept: %s", strerror(errno));
  CHECK(line_seen, "accept returned before the go line");
  char b[4];
  read_exact(c, b, 4, "accepted connection");
  CHECK(!memcmp(b, "ping", 4), "wrong bytes");
  CHECK(ntohs(peer.sin_port) == port_of(cli), "peer port %u, our client is on %u", ntohs(peer.sin_port), port_of(cli));
  pass();
}
