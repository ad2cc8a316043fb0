/* Options on one end of a Unix stream socketpair: SO_PASSSEC 1, SO_PASSCRED 1, SO_RCVLOWAT 5,
 * SO_SNDBUF 50000, SO_RCVBUF 70000, SO_PEEK_OFF 2, SO_RCVTIMEO 4.5 s, SO_SNDTIMEO 3.25 s. After
 * restart each reads back the same, the 3 queued bytes are there, and MSG_PEEK starts at offset 2.
 * (Unix sockets' poll ignores the low-water mark, so only the value is checked.) */
#include "net.h"
#include <poll.h>
#include <sys/un.h>

int main(void) {
  int sv[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  int s = sv[0];
  int one = 1, low = 5, sb = 50000, rb = 70000, po = 2;
  struct timeval rt = {4, 500000}, st = {3, 250000};
  if (setsockopt(s, SOL_SOCKET, SO_PASSSEC, &one, sizeof one)) skip("SO_PASSSEC: %s", strerror(errno));
  SYS(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
  SYS(setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof low));
  SYS(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb));
  SYS(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb));
  SYS(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &po, sizeof po));
  SYS(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt));
  SYS(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof st));
  int sndbuf = getint(s, SOL_SOCKET, SO_SNDBUF), rcvbuf = getint(s, SOL_SOCKET, SO_RCVBUF);
  /* the kernel keeps timeouts in jiffies: compare with what it reads back now */
  struct timeval rt0, st0;
  socklen_t tl = sizeof rt0;
  SYS(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &rt0, &tl));
  tl = sizeof st0;
  SYS(getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &st0, &tl));
  write_all(sv[1], "abc", 3);

  ready_wait();

  CHECK(getint(s, SOL_SOCKET, SO_PASSSEC) == 1, "SO_PASSSEC %d, want 1", getint(s, SOL_SOCKET, SO_PASSSEC));
  CHECK(getint(s, SOL_SOCKET, SO_PASSCRED) == 1, "SO_PASSCRED %d, want 1", getint(s, SOL_SOCKET, SO_PASSCRED));
  CHECK(getint(s, SOL_SOCKET, SO_RCVLOWAT) == 5, "SO_RCVLOWAT %d, want 5", getint(s, SOL_SOCKET, SO_RCVLOWAT));
  CHECK(getint(s, SOL_SOCKET, SO_SNDBUF) == sndbuf, "SO_SNDBUF %d, want %d", getint(s, SOL_SOCKET, SO_SNDBUF), sndbuf);
  CHECK(getint(s, SOL_SOCKET, SO_RCVBUF) == rcvbuf, "SO_RCVBUF %d, want %d", getint(s, SOL_SOCKET, SO_RCVBUF), rcvbuf);
  CHECK(getint(s, SOL_SOCKET, SO_PEEK_OFF) == 2, "SO_PEEK_OFF %d, want 2", getint(s, SOL_SOCKET, SO_PEEK_OFF));
  struct timeval g;
  socklen_t gl = sizeof g;
  SYS(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &g, &gl));
  CHECK(g.tv_sec == rt0.tv_sec && g.tv_usec == rt0.tv_usec, "SO_RCVTIMEO %ld.%06ld, want %ld.%06ld", (long)g.tv_sec,
        (long)g.tv_usec, (long)rt0.tv_sec, (long)rt0.tv_usec);
  gl = sizeof g;
  SYS(getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &g, &gl));
  CHECK(g.tv_sec == st0.tv_sec && g.tv_usec == st0.tv_usec, "SO_SNDTIMEO %ld.%06ld, want %ld.%06ld", (long)g.tv_sec,
        (long)g.tv_usec, (long)st0.tv_sec, (long)st0.tv_usec);
  write_all(sv[1], "def", 3);
  struct pollfd p = {.fd = s, .events = POLLIN};
  CHECK(poll(&p, 1, 2000) == 1, "not readable with 6 bytes queued");
  char b[8] = {0};
  ssize_t n = recv(s, b, 3, MSG_PEEK);
  CHECK(n == 3 && !memcmp(b, "cde", 3), "MSG_PEEK gave %zd \"%.3s\", want \"cde\" (peek offset 2)", n, b);
  memset(b, 0, sizeof b);
  read_exact(s, b, 6, "queue");
  CHECK(!memcmp(b, "abcdef", 6), "queue \"%.6s\", want \"abcdef\"", b);
  pass();
}
