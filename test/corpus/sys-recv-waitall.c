/* recv(MSG_WAITALL) of 64 KiB on a Unix stream socket across the checkpoint: a forked peer sends the
 * first 20 KiB before READY and the rest only after the go line (read from the stdin it
 * inherited). A signal ends a MSG_WAITALL receive early with what it has: under amber recv must
 * still return the whole 64 KiB in order (never EINTR, never short). */
#include "corpus.h"
#include <sys/socket.h>

#define ALL (64 * 1024)
#define FIRST (20 * 1024)

int main(void) {
  int sv[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  static char b[ALL];
  fill_pattern(b, ALL, 777);
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(sv[0]);
    write_all(sv[1], b, FIRST);
    read_line();
    write_all(sv[1], b + FIRST, ALL - FIRST);
    char c;
    if (read(sv[1], &c, 1) < 0) _exit(4); /* until the parent closes */
    _exit(0);
  }
  peer(kid);
  close(sv[1]);
  static char got[ALL];
  ssize_t n = recv(sv[0], got, ALL, MSG_WAITALL);
  CHECK(n >= 0, "recv(MSG_WAITALL): %s", strerror(errno));
  CHECK(n == ALL, "recv(MSG_WAITALL) returned %zd, want %d", n, ALL);
  int at = check_pattern(got, ALL, 777);
  CHECK(at < 0, "the bytes differ from offset %d", at);
  pass();
}
