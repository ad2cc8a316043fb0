/* A Unix stream socketpair between us and our child, bytes queued both ways (3000 to the child,
 * 1000 to us, both unread): after restart each side reads exactly what the other sent, once, and
 * the connection still carries new bytes both ways. */
#include "corpus.h"
#include <sys/socket.h>

int main(void) {
  int sv[2], ctl[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  SYS(pipe(ctl));
  static char up[1000], down[3000];
  fill_pattern(up, sizeof up, 41);
  fill_pattern(down, sizeof down, 42);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(sv[0]);
    close(ctl[1]);
    write_all(sv[1], up, sizeof up);
    char c;
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    static char r[3000];
    read_exact(sv[1], r, sizeof r, "child");
    if (memcmp(r, down, sizeof r)) _exit(11);
    write_all(sv[1], "ack", 3);
    if (read(sv[1], r, 4) != 4 || memcmp(r, "bye!", 4)) _exit(12);
    _exit(0);
  }
  peer(kid);
  close(sv[1]);
  close(ctl[0]);
  write_all(sv[0], down, sizeof down);
  /* wait until the child's bytes are queued to us (without reading them) */
  for (int i = 0; i < 2500; i++) {
    int q = 0;
    char b[1000];
    if ((q = (int)recv(sv[0], b, sizeof b, MSG_PEEK | MSG_DONTWAIT)) == (int)sizeof b) break;
    usleep(2000);
  }

  ready_wait();

  static char r[1000];
  read_exact(sv[0], r, sizeof r, "bytes from the child");
  int at = check_pattern(r, sizeof r, 41);
  CHECK(at < 0, "bytes from the child differ at %d", at);
  write_all(ctl[1], "g", 1);
  char a[3];
  read_exact(sv[0], a, 3, "ack");
  CHECK(!memcmp(a, "ack", 3), "the child did not acknowledge");
  write_all(sv[0], "bye!", 4);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child saw other bytes (status %#x: 11 = bytes to it differ)", st);
  pass();
}
