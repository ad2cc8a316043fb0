/* A Unix stream socketpair with our end shut down for writing (shutdown SHUT_WR) after sending
 * "bye", the child's end open. After restart: our write fails with EPIPE (SIGPIPE ignored) and
 * poll on our end shows nothing yet; the child reads "bye" then end-of-file; the child can still
 * send to us ("ok" arrives); once it closes we see the hangup and end-of-file. */
#include "corpus.h"
#include <poll.h>
#include <sys/socket.h>

int main(void) {
  int sv[2], q[2], a[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  SYS(pipe(q));
  SYS(pipe(a));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(sv[0]);
    char c;
    if (read(q[0], &c, 1) != 1) _exit(2);
    char b[8] = {0};
    ssize_t n = recv(sv[1], b, sizeof b, MSG_WAITALL);
    char verdict = n == 3 && !memcmp(b, "bye", 3) ? 'Y' : 'N';
    write_all(a[1], &verdict, 1);
    write_all(sv[1], "ok", 2);
    if (read(q[0], &c, 1) != 1) _exit(3);
    close(sv[1]);
    write_all(a[1], "c", 1);
    for (;;) pause();
  }
  peer(kid);
  close(sv[1]);
  signal(SIGPIPE, SIG_IGN);
  write_all(sv[0], "bye", 3);
  SYS(shutdown(sv[0], SHUT_WR));

  ready_wait();

  ssize_t w = write(sv[0], "x", 1);
  CHECK(w < 0 && errno == EPIPE, "write after SHUT_WR = %zd (%s), want EPIPE", w, w < 0 ? strerror(errno) : "written");
  struct pollfd p = {.fd = sv[0], .events = POLLIN};
  CHECK(poll(&p, 1, 0) == 0 || !(p.revents & (POLLHUP | POLLIN)), "poll shows revents %#x before the child wrote", p.revents);
  write_all(q[1], "r", 1);
  char v;
  read_exact(a[0], &v, 1, "child's verdict");
  CHECK(v == 'Y', "the child did not read \"bye\" then end-of-file (our SHUT_WR lost, or the bytes)");
  char b[2];
  read_exact(sv[0], b, 2, "from the child");
  CHECK(!memcmp(b, "ok", 2), "the child's bytes");
  write_all(q[1], "c", 1);
  read_exact(a[0], &v, 1, "child closed");
  CHECK(poll(&p, 1, 5000) == 1 && (p.revents & (POLLHUP | POLLIN)), "no hangup after the child closed (revents %#x)", p.revents);
  CHECK(read(sv[0], b, 1) == 0, "read after the child closed is not end-of-file");
  pass();
}
