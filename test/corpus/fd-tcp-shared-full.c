/* A loopback TCP connection filled one way until the sender would block (megabytes: the receiver's
 * queue full, the rest in the sender's send queue), both ends held by us and three children. A
 * checkpoint that ends the program reads the receiver's queue to the end, the peer's send queue
 * flowing in as it reads, in all four holders at once. After the restart the receiver reads
 * every byte once, in order, and nothing more. */
#include "net.h"
#include <poll.h>

int main(void) {
  int l = tcp_listener(4);
  int c = tcp_connect(port_of(l));
  int s = SYS(accept(l, NULL, NULL));
  close(l);
  enum { CAP = 32 << 20 };
  char* out = malloc(CAP);
  char* in = malloc(CAP);
  if (!out || !in) fail("malloc");
  fill_pattern(out, CAP, 93);
  SYS(fcntl(s, F_SETFL, O_NONBLOCK));
  size_t sent = 0;
  for (int idle = 0; idle < 20 && sent < CAP;) {
    ssize_t w = write(s, out + sent, CAP - sent);
    if (w > 0) { sent += (size_t)w; idle = 0; continue; }
    if (w < 0 && errno != EAGAIN) fail("write: %s", strerror(errno));
    idle++;
    usleep(10000);
  }
  SYS(fcntl(s, F_SETFL, 0));
  for (int k = 0; k < 3; k++) {
    pid_t kid = SYS(fork());
    if (kid == 0) {
      for (;;) pause();  // holds both ends; killed at the end
    }
    peer(kid);
  }

  ready_wait();

  read_exact(c, in, sent, "the bytes sent");
  int at = check_pattern(in, sent, 93);
  CHECK(at < 0, "byte %d of %zu differs (a part of the queue lost or saved twice)", at, sent);
  struct pollfd p = {.fd = c, .events = POLLIN};
  CHECK(poll(&p, 1, 300) == 0, "more bytes than the %zu sent", sent);
  pass();
}
