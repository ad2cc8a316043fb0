/* recv on a Unix stream socket with SO_RCVTIMEO 60 s (clients with a read timeout): across the
 * checkpoint it must neither return EINTR nor EAGAIN (the timeout) early; it returns the 3 bytes
 * our line thread sends after the go line. SO_RCVTIMEO and SO_SNDTIMEO read back the same after. */
#include "corpus.h"
#include <sys/socket.h>

static int sv[2];
static void send_go(void) {
  if (send(sv[1], "go!", 3, 0) != 3) fail("send: %s", strerror(errno));
}

int main(void) {
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  struct timeval rt = {60, 0}, st = {30, 0};
  SYS(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt));
  SYS(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &st, sizeof st));
  ready();
  line_thread(send_go);
  double t0 = now_mono();
  char b[8];
  ssize_t n = recv(sv[0], b, sizeof b, 0);
  int e = errno;
  double dt = now_mono() - t0;
  CHECK(n >= 0, "recv: %s after %.3f s", strerror(e), dt);
  CHECK(n == 3 && !memcmp(b, "go!", 3), "recv returned %zd bytes", n);
  CHECK(line_seen, "recv returned before the go line");
  struct timeval g;
  socklen_t l = sizeof g;
  SYS(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &g, &l));
  CHECK(g.tv_sec == 60 && g.tv_usec == 0, "SO_RCVTIMEO %ld.%06ld, want 60", (long)g.tv_sec, (long)g.tv_usec);
  SYS(getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &g, &l));
  CHECK(g.tv_sec == 30 && g.tv_usec == 0, "SO_SNDTIMEO %ld.%06ld, want 30", (long)g.tv_sec, (long)g.tv_usec);
  pass();
}
