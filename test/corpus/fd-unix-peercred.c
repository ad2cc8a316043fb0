/* SO_PEERCRED on a socketpair shared with a child and on a named stream connection to it (servers
 * check who connected: dbus, systemd, postgres' peer authentication): after restart each end still
 * reports the pid of the process that made the other end (as getpid and fork gave them), and our
 * uid and gid. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

static pid_t peer_pid(int fd) {
  struct ucred c;
  socklen_t l = sizeof c;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &l) < 0) return -1;
  if (c.uid != getuid() || c.gid != getgid()) return -2;
  return c.pid;
}

int main(void) {
  int sp[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
  int lis = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "pc.sock");
  unlink(a.sun_path);
  SYS(bind(lis, (struct sockaddr*)&a, sizeof a));
  SYS(listen(lis, 4));
  int g[2];
  SYS(pipe(g));
  pid_t me = getpid();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr*)&a, sizeof a) < 0) _exit(10);
    char x;
    if (read(g[0], &x, 1) != 1) _exit(11);
    /* after the restart: the connection's other end is our parent's accept */
    _exit(peer_pid(c) == me ? 0 : 12);
  }
  peer(kid);
  int acc = SYS(accept(lis, NULL, NULL));
  /* the socketpair was made by us before the fork: both ends report us */
  CHECK(peer_pid(sp[0]) == me, "socketpair before the checkpoint: %d", (int)peer_pid(sp[0]));
  CHECK(peer_pid(acc) == kid, "accepted before the checkpoint: %d", (int)peer_pid(acc));

  ready_wait();

  pid_t p = peer_pid(acc);
  CHECK(p == kid, "SO_PEERCRED of the accepted connection says pid %d after restart, want the child %d", (int)p, (int)kid);
  p = peer_pid(sp[0]);
  CHECK(p == me, "SO_PEERCRED of the socketpair says pid %d after restart, want %d (it was made by us)", (int)p, (int)me);
  write_all(g[1], "x", 1);
  int st;
  SYS(waitpid(kid, &st, 0));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child saw another peer pid after restart (status %#x)", st);
  pass();
}
