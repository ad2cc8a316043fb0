/* A TCP connection over loopback between us and our child, bytes queued both ways (20000 to the
 * child, 7000 to us): after restart each side reads exactly what the other sent, once, and a new
 * round trip works. */
#include "net.h"

int main(void) {
  int l = tcp_listener(4);
  uint16_t port = port_of(l);
  static char up[7000], down[20000];
  fill_pattern(up, sizeof up, 81);
  fill_pattern(down, sizeof down, 82);
  int ctl[2];
  SYS(pipe(ctl));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(ctl[1]);
    close(l);
    int c = tcp_connect(port);
    write_all(c, up, sizeof up);
    char ch;
    if (read(ctl[0], &ch, 1) != 1) _exit(10);
    static char r[20000];
    read_exact(c, r, sizeof r, "child");
    if (memcmp(r, down, sizeof r)) _exit(11);
    write_all(c, "ok", 2);
    if (read(c, r, 3) != 3 || memcmp(r, "end", 3)) _exit(12);
    _exit(0);
  }
  peer(kid);
  close(ctl[0]);
  int s = SYS(accept(l, NULL, NULL));
  write_all(s, down, sizeof down);
  wait_queued(s, sizeof up);

  ready_wait();

  static char r[7000];
  read_exact(s, r, sizeof r, "bytes from the child");
  int at = check_pattern(r, sizeof r, 81);
  CHECK(at < 0, "bytes from the child differ at %d", at);
  write_all(ctl[1], "g", 1);
  char ok[2];
  read_exact(s, ok, 2, "the child's ok");
  CHECK(!memcmp(ok, "ok", 2), "the child's answer");
  write_all(s, "end", 3);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 11 = bytes to it differ)", st);
  pass();
}
