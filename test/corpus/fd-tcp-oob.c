/* TCP urgent data not yet read: our child sent "abc", then "X" with MSG_OOB, then "def". After
 * restart the normal stream reads "abc" up to the mark (SIOCATMARK then true), recv(MSG_OOB) gives
 * the urgent byte "X" once, and the stream goes on with "def" (the urgent byte not inline); a new
 * urgent byte sent after the restart arrives the same way. */
#include "net.h"
#include <poll.h>
#include <sys/ioctl.h>

static int recv_oob(int s, char* c) {
  /* the urgent byte may still be on its way: wait for POLLPRI */
  struct pollfd p = {.fd = s, .events = POLLPRI};
  if (poll(&p, 1, 5000) != 1) return -2;
  return (int)recv(s, c, 1, MSG_OOB);
}

int main(void) {
  int l = tcp_listener(4);
  uint16_t port = port_of(l);
  int go[2], sent[2];
  SYS(pipe(go));
  SYS(pipe(sent));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(l);
    int c = tcp_connect(port);
    write_all(c, "abc", 3);
    if (send(c, "X", 1, MSG_OOB) != 1) _exit(2);
    write_all(c, "def", 3);
    write_all(sent[1], "s", 1); /* on loopback a send returns with the bytes in our queue */
    char b;
    if (read(go[0], &b, 1) != 1) _exit(3);
    if (send(c, "Y", 1, MSG_OOB) != 1) _exit(4);
    write_all(c, "gh", 2);
    read(go[0], &b, 1);
    _exit(0);
  }
  peer(kid);
  close(go[0]);
  int s = SYS(accept(l, NULL, NULL));
  /* (a peek stops at the urgent mark: wait_queued cannot see past it) */
  char sb;
  read_exact(sent[0], &sb, 1, "child sent");
  struct pollfd p = {.fd = s, .events = POLLPRI};
  if (poll(&p, 1, 5000) != 1) fail("setup: no urgent data signalled");

  ready_wait();

  CHECK(getint(s, SOL_SOCKET, SO_OOBINLINE) == 0, "SO_OOBINLINE is now %d", getint(s, SOL_SOCKET, SO_OOBINLINE));
  int mark = -1;
  CHECK(!ioctl(s, SIOCATMARK, &mark), "SIOCATMARK: %s", strerror(errno));
  CHECK(mark == 0, "at the mark before reading \"abc\"");
  char b[8] = {0};
  /* a read stops at the urgent mark */
  CHECK(recv(s, b, sizeof b, 0) == 3 && !memcmp(b, "abc", 3), "the bytes before the mark: \"%.8s\"", b);
  CHECK(!ioctl(s, SIOCATMARK, &mark) && mark == 1, "SIOCATMARK %d after \"abc\", want 1 (urgent mark lost)", mark);
  char c = 0;
  int r = recv_oob(s, &c);
  CHECK(r == 1 && c == 'X', "recv(MSG_OOB) = %d (%s) byte '%c', want 'X' (urgent byte lost)", r, r < 0 ? strerror(errno) : "", c);
  r = (int)recv(s, &c, 1, MSG_OOB | MSG_DONTWAIT);
  CHECK(r < 0 && errno == EINVAL, "a second recv(MSG_OOB) = %d, want EINVAL (the urgent byte came twice)", r);
  memset(b, 0, sizeof b);
  read_exact(s, b, 3, "after the mark");
  CHECK(!memcmp(b, "def", 3), "the bytes after the mark: \"%.3s\", want \"def\" (the urgent byte inline?)", b);
  write_all(go[1], "g", 1);
  r = recv_oob(s, &c);
  CHECK(r == 1 && c == 'Y', "a new urgent byte: recv(MSG_OOB) = %d byte '%c', want 'Y'", r, c);
  memset(b, 0, sizeof b);
  read_exact(s, b, 2, "after the new mark");
  CHECK(!memcmp(b, "gh", 2), "the bytes after the new mark: \"%.2s\"", b);
  pass();
}
