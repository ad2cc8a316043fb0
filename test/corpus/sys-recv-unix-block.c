/* recv() with no timeout on a Unix stream socketpair, blocked across the checkpoint; the other end
 * belongs to a forked peer that reads the go line and only then sends 5 bytes. recv must return
 * those bytes (never EINTR, never 0), and the socket must be empty after. */
#include "corpus.h"
#include <sys/socket.h>

int main(void) {
  int sv[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(sv[0]);
    read_line();
    if (send(sv[1], "hello", 5, 0) != 5) _exit(3);
    char c;
    if (read(sv[1], &c, 1) != 0) _exit(4); /* hold the end open until the parent closes its own */
    _exit(0);
  }
  peer(kid);
  close(sv[1]);
  char b[16];
  ssize_t n = recv(sv[0], b, sizeof b, 0);
  CHECK(n >= 0, "recv: %s", strerror(errno));
  CHECK(n == 5 && !memcmp(b, "hello", 5), "recv returned %zd, want the peer's 5 bytes", n);
  SYS(fcntl(sv[0], F_SETFL, O_NONBLOCK));
  n = recv(sv[0], b, sizeof b, 0);
  CHECK(n < 0 && errno == EAGAIN, "after the 5 bytes: recv returned %zd (%s)", n, n < 0 ? strerror(errno) : "data");
  close(sv[0]);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "peer %d status %#x", (int)kid, st);
  corpus_npeers = 0;
  pass();
}
