/* Both ends of a loopback TCP connection, blocking, held by us and three children (a shell and the
 * commands it forks inherit a connection like this), bytes queued both ways (5000 one way, 3000
 * the other). Every holder is checkpointed at the same moment: a checkpoint that ends the program
 * reads each queue to the end in all four at once. After the restart each end reads exactly what
 * the other sent, once, the descriptors are still blocking, and a new round trip works. */
#include "net.h"
#include <poll.h>

int main(void) {
  int l = tcp_listener(4);
  int c = tcp_connect(port_of(l));
  int s = SYS(accept(l, NULL, NULL));
  close(l);
  static char to_c[5000], to_s[3000];
  fill_pattern(to_c, sizeof to_c, 91);
  fill_pattern(to_s, sizeof to_s, 92);
  write_all(s, to_c, sizeof to_c);
  write_all(c, to_s, sizeof to_s);
  wait_queued(c, sizeof to_c);
  wait_queued(s, sizeof to_s);
  for (int k = 0; k < 3; k++) {
    pid_t kid = SYS(fork());
    if (kid == 0) {
      for (;;) pause();  // holds both ends; killed at the end
    }
    peer(kid);
  }

  ready_wait();

  CHECK(!(fcntl(c, F_GETFL) & O_NONBLOCK) && !(fcntl(s, F_GETFL) & O_NONBLOCK), "a descriptor became non-blocking");
  static char r[5000];
  read_exact(c, r, sizeof to_c, "bytes queued to the client end");
  int at = check_pattern(r, sizeof to_c, 91);
  CHECK(at < 0, "bytes to the client end differ at %d", at);
  read_exact(s, r, sizeof to_s, "bytes queued to the server end");
  at = check_pattern(r, sizeof to_s, 92);
  CHECK(at < 0, "bytes to the server end differ at %d", at);
  struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = s, .events = POLLIN}};
  CHECK(poll(p, 2, 200) == 0, "more bytes queued than were sent (a queue saved twice)");
  write_all(c, "ping", 4);
  read_exact(s, r, 4, "the round trip");
  CHECK(!memcmp(r, "ping", 4), "the round trip");
  pass();
}
