/* SO_OOBINLINE on an accepted TCP socket with urgent data queued inline: our child sent "ab",
 * "U" with MSG_OOB and "cd". After restart SO_OOBINLINE still reads 1, the stream reads "ab" up to
 * the mark (SIOCATMARK then true), then "Ucd" (the urgent byte in the stream, once), and
 * recv(MSG_OOB) is EINVAL (nothing out of band). */
#include "net.h"
#include <poll.h>
#include <sys/ioctl.h>

int main(void) {
  int l = tcp_listener(4);
  uint16_t port = port_of(l);
  int sent[2];
  SYS(pipe(sent));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(l);
    int c = tcp_connect(port);
    char b;
    if (read(c, &b, 1) != 1) _exit(2); /* the option is set before anything is sent */
    write_all(c, "ab", 2);
    if (send(c, "U", 1, MSG_OOB) != 1) _exit(3);
    write_all(c, "cd", 2);
    write_all(sent[1], "s", 1); /* on loopback a send returns with the bytes in our queue */
    read(c, &b, 1);
    _exit(0);
  }
  peer(kid);
  int s = SYS(accept(l, NULL, NULL));
  int one = 1;
  SYS(setsockopt(s, SOL_SOCKET, SO_OOBINLINE, &one, sizeof one));
  write_all(s, "s", 1);
  /* (a peek stops at the urgent mark: wait_queued cannot see past it) */
  char sb;
  read_exact(sent[0], &sb, 1, "child sent");

  ready_wait();

  CHECK(getint(s, SOL_SOCKET, SO_OOBINLINE) == 1, "SO_OOBINLINE is %d, want 1", getint(s, SOL_SOCKET, SO_OOBINLINE));
  char b[8] = {0};
  CHECK(recv(s, b, sizeof b, 0) == 2 && !memcmp(b, "ab", 2), "the bytes before the mark: \"%.8s\", want \"ab\"", b);
  int mark = -1;
  CHECK(!ioctl(s, SIOCATMARK, &mark) && mark == 1, "SIOCATMARK %d after \"ab\", want 1 (urgent mark lost)", mark);
  memset(b, 0, sizeof b);
  read_exact(s, b, 3, "from the mark");
  CHECK(!memcmp(b, "Ucd", 3), "from the mark: \"%.3s\", want \"Ucd\" (urgent byte not inline)", b);
  char c;
  int r = (int)recv(s, &c, 1, MSG_OOB | MSG_DONTWAIT);
  CHECK(r < 0 && errno == EINVAL, "recv(MSG_OOB) = %d (%s), want EINVAL with SO_OOBINLINE", r, r < 0 ? strerror(errno) : "");
  expect_empty(s, "stream");
  pass();
}
