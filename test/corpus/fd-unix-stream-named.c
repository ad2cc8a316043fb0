/* A Unix stream listener bound to a path, with one accepted connection whose client end our child
 * holds; 2000 bytes queued to us and 500 to the child. After restart the listener is still at the
 * path (a new client connects), our end reads the 2000 bytes, the child reads its 500, and
 * getpeername/getsockname name the path as before. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

int main(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "stream.sock"};
  int l = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  SYS(bind(l, (struct sockaddr*)&a, sizeof a));
  SYS(listen(l, 8));
  static char up[2000], down[500];
  fill_pattern(up, sizeof up, 71);
  fill_pattern(down, sizeof down, 72);
  int ctl[2];
  SYS(pipe(ctl));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(l);
    close(ctl[1]);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr*)&a, sizeof a)) _exit(10);
    write_all(c, up, sizeof up);
    char ch;
    if (read(ctl[0], &ch, 1) != 1) _exit(11);
    static char r[500];
    read_exact(c, r, sizeof r, "child");
    if (memcmp(r, down, sizeof r)) _exit(12);
    struct sockaddr_un p;
    socklen_t pl = sizeof p;
    if (getpeername(c, (struct sockaddr*)&p, &pl) || strcmp(p.sun_path, "stream.sock")) _exit(13);
    _exit(0);
  }
  peer(kid);
  close(ctl[0]);
  int s = SYS(accept(l, NULL, NULL));
  write_all(s, down, sizeof down);
  char pk[2000];
  for (int i = 0; i < 1500 && recv(s, pk, sizeof pk, MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof pk; i++) usleep(2000);

  ready_wait();

  static char r[2000];
  read_exact(s, r, sizeof r, "bytes from the child");
  CHECK(check_pattern(r, sizeof r, 71) < 0, "bytes from the child differ");
  struct sockaddr_un g;
  socklen_t gl = sizeof g;
  SYS(getsockname(s, (struct sockaddr*)&g, &gl));
  CHECK(!strcmp(g.sun_path, "stream.sock"), "the accepted socket's name is '%s'", g.sun_path);
  write_all(ctl[1], "g", 1);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 12 = bytes differ, 13 = peer name)", st);
  int d = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  CHECK(!connect(d, (struct sockaddr*)&a, sizeof a), "a new client cannot connect to the path: %s", strerror(errno));
  int s2 = accept(l, NULL, NULL);
  CHECK(s2 >= 0, "accept: %s", strerror(errno));
  pass();
}
