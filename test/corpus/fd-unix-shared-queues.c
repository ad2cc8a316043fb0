/* Unix socket pairs held by us and three children, with queues: a stream pair with 60000 bytes
 * waiting (written in 100 pieces) and a datagram pair with 60 messages waiting. Every holder is
 * checkpointed at the same moment (each looks at the same queues). After the restart the stream
 * reads every byte once, in order, and the datagram socket every message once, in order, with its
 * length, and nothing more. */
#include "corpus.h"
#include <poll.h>
#include <sys/socket.h>

int main(void) {
  int st[2], dg[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, st));
  SYS(socketpair(AF_UNIX, SOCK_DGRAM, 0, dg));
  enum { BYTES = 60000, MSGS = 60 };
  static char out[BYTES], in[BYTES];
  fill_pattern(out, BYTES, 94);
  for (int i = 0; i < 100; i++) write_all(st[0], out + i * (BYTES / 100), BYTES / 100);
  for (int i = 0; i < MSGS; i++) {
    char m[64];
    int n = snprintf(m, sizeof m, "message %d %.*s", i, i % 20, "xxxxxxxxxxxxxxxxxxxx");
    CHECK(send(dg[0], m, (size_t)n, 0) == n, "send %d: %s", i, strerror(errno));
  }
  for (int k = 0; k < 3; k++) {
    pid_t kid = SYS(fork());
    if (kid == 0) {
      for (;;) pause();  // holds every end; killed at the end
    }
    peer(kid);
  }

  ready_wait();

  read_exact(st[1], in, BYTES, "the stream's bytes");
  int at = check_pattern(in, BYTES, 94);
  CHECK(at < 0, "stream byte %d differs (a part of the queue lost or saved twice)", at);
  for (int i = 0; i < MSGS; i++) {
    char m[64], want[64];
    int n = snprintf(want, sizeof want, "message %d %.*s", i, i % 20, "xxxxxxxxxxxxxxxxxxxx");
    struct pollfd p = {.fd = dg[1], .events = POLLIN};
    CHECK(poll(&p, 1, 2000) == 1, "datagram %d missing", i);
    ssize_t r = recv(dg[1], m, sizeof m, 0);
    CHECK(r == n && !memcmp(m, want, (size_t)n), "datagram %d: got %zd bytes '%.*s'", i, r, (int)(r > 0 ? r : 0), m);
  }
  struct pollfd p[2] = {{.fd = st[1], .events = POLLIN}, {.fd = dg[1], .events = POLLIN}};
  CHECK(poll(p, 2, 300) == 0, "more queued than was sent");
  pass();
}
