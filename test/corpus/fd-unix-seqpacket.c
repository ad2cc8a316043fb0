/* A Unix SOCK_SEQPACKET socketpair between us and our child, two records queued to us (7 and 500
 * bytes) and one to the child: after restart each record comes back whole and in order, a short
 * read of the second truncates it (MSG_TRUNC) as seqpacket does, and the child gets its record. */
#include "corpus.h"
#include <sys/socket.h>

int main(void) {
  int sv[2], ctl[2];
  SYS(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
  SYS(pipe(ctl));
  static char big[500];
  fill_pattern(big, sizeof big, 61);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(sv[0]);
    close(ctl[1]);
    SYS(send(sv[1], "seven!!", 7, MSG_EOR));
    SYS(send(sv[1], big, sizeof big, MSG_EOR));
    char c, b[64];
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    ssize_t n = recv(sv[1], b, sizeof b, 0);
    if (n != 11 || memcmp(b, "to the kid!", 11)) _exit(11);
    _exit(0);
  }
  peer(kid);
  close(sv[1]);
  close(ctl[0]);
  SYS(send(sv[0], "to the kid!", 11, MSG_EOR));
  char b[1024];
  for (int i = 0; i < 1500 && recv(sv[0], b, sizeof b, MSG_PEEK | MSG_DONTWAIT) != 7; i++) usleep(2000);

  ready_wait();

  ssize_t n = recv(sv[0], b, sizeof b, MSG_DONTWAIT);
  CHECK(n == 7 && !memcmp(b, "seven!!", 7), "first record: %zd bytes (%s)", n, n < 0 ? strerror(errno) : "");
  struct iovec iov = {b, 100};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  n = recvmsg(sv[0], &mh, MSG_DONTWAIT);
  CHECK(n == 100 && (mh.msg_flags & MSG_TRUNC), "a 100-byte read of the 500-byte record: %zd, flags %#x (want MSG_TRUNC)", n, mh.msg_flags);
  CHECK(!memcmp(b, big, 100), "second record bytes differ");
  CHECK(recv(sv[0], b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN, "the truncated rest came as another record");
  int type;
  socklen_t tl = sizeof type;
  SYS(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl));
  CHECK(type == SOCK_SEQPACKET, "socket type %d, want SOCK_SEQPACKET", type);
  write_all(ctl[1], "g", 1);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child did not get its record (status %#x)", st);
  pass();
}
