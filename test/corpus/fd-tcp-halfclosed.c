/* A TCP connection between us and our child that the child half-closed (shutdown(SHUT_WR) after
 * sending 3000 bytes): after restart we read the 3000 bytes and then EOF, and our direction still
 * works: the child reads what we send after the restart and exits 0. */
#include "net.h"

int main(void) {
  int l = tcp_listener(4);
  uint16_t port = port_of(l);
  static char up[3000];
  fill_pattern(up, sizeof up, 91);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(l);
    int c = tcp_connect(port);
    write_all(c, up, sizeof up);
    SYS(shutdown(c, SHUT_WR));
    char b[16];
    read_exact(c, b, 12, "child");
    _exit(memcmp(b, "still open\r\n", 12) ? 11 : 0);
  }
  peer(kid);
  int s = SYS(accept(l, NULL, NULL));
  /* wait until the FIN is in: the data and then EOF are both queued */
  char pk[3001];
  for (int i = 0; i < 2500; i++) {
    if (recv(s, pk, sizeof pk, MSG_PEEK | MSG_DONTWAIT) == 3000) {
      usleep(20000);
      break;
    }
    usleep(2000);
  }

  ready_wait();

  static char r[3000];
  read_exact(s, r, sizeof r, "the child's bytes");
  CHECK(check_pattern(r, sizeof r, 91) < 0, "the child's bytes differ");
  char b;
  ssize_t n = recv(s, &b, 1, MSG_DONTWAIT);
  CHECK(n == 0, "after the data: %s, want EOF (the half-close is lost)", n < 0 ? strerror(errno) : "more data");
  CHECK(send(s, "still open\r\n", 12, MSG_NOSIGNAL) == 12, "sending on our half: %s", strerror(errno));
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child did not read what we sent after restart (status %#x)", st);
  pass();
}
