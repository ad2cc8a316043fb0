/* accept4(SOCK_CLOEXEC) blocked on a Unix stream listener bound to a path, across the checkpoint;
 * a forked peer reads the go line and only then connects and sends 3 bytes. accept4 must return
 * that connection (close-on-exec set, SO_PEERCRED naming the pid fork returned), never EINTR. */
#define _GNU_SOURCE
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

static char path[96];
static void rm(void) { unlink(path); }

int main(void) {
  snprintf(path, sizeof path, "/tmp/amber-accept-unix-%d", (int)getpid());
  on_exit_cleanup(rm);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  int l = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  SYS(bind(l, (struct sockaddr*)&a, sizeof a));
  SYS(listen(l, 4));
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    read_line();
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr*)&a, sizeof a) || send(c, "hey", 3, 0) != 3) _exit(3);
    pause();
    _exit(0);
  }
  peer(kid);
  int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  CHECK(s >= 0, "accept4: %s", strerror(errno));
  CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC, "the accepted socket is not close-on-exec");
  char b[4];
  read_exact(s, b, 3, "the peer's bytes");
  CHECK(!memcmp(b, "hey", 3), "the peer's bytes differ");
  struct ucred uc;
  socklen_t ul = sizeof uc;
  CHECK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 && uc.pid == kid, "SO_PEERCRED pid %d, the peer %d",
        (int)uc.pid, (int)kid);
  pass();
}
