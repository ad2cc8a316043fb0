/* A descriptor in flight: the read end of a pipe holding "inside" was sent with SCM_RIGHTS over a
 * Unix socketpair and closed by the sender, not yet received. After restart recvmsg returns the
 * message with one descriptor, and reading it gives "inside" (the pipe's bytes came along). */
#include "corpus.h"
#include <sys/socket.h>

int main(void) {
  int sv[2], p[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  SYS(pipe(p));
  write_all(p[1], "inside", 6);
  close(p[1]);
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {"carrier", 7};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &p[0], sizeof(int));
  SYS(sendmsg(sv[0], &mh, 0));
  close(p[0]);

  ready_wait();

  char b[16];
  memset(&u, 0, sizeof u);
  struct iovec riov = {b, sizeof b};
  struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
  ssize_t n = recvmsg(sv[1], &rm, MSG_DONTWAIT);
  CHECK(n == 7 && !memcmp(b, "carrier", 7), "the carrier message: %zd (%s)", n, n < 0 ? strerror(errno) : "");
  c = CMSG_FIRSTHDR(&rm);
  CHECK(c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS, "no SCM_RIGHTS with the message (the descriptor in flight is lost)");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  struct stat st;
  CHECK(!fstat(fd, &st) && S_ISFIFO(st.st_mode), "the received descriptor is not a pipe");
  n = read(fd, b, sizeof b);
  CHECK(n == 6 && !memcmp(b, "inside", 6), "the received pipe holds %zd bytes, want 'inside'", n);
  CHECK(read(fd, b, sizeof b) == 0, "the received pipe has no EOF (a writer survived)");
  pass();
}
