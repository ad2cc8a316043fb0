/* SCM_CREDENTIALS over a socketpair with SO_PASSCRED (sd_notify-style senders that state their own
 * pid, receivers that check it): after restart the child sends its credentials with getpid() —
 * the kernel would refuse a pid that is not the sender's — and we receive them with the pid fork
 * gave us; a message without explicit credentials also arrives with the child's pid. */
#include "corpus.h"
#include <sys/socket.h>

static int send_cred(int fd, int explicit_cred) {
  char c = 'x';
  struct iovec io = {&c, 1};
  union { char b[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr h; } u;
  struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1};
  if (explicit_cred) {
    memset(&u, 0, sizeof u);
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    struct cmsghdr* h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_CREDENTIALS;
    h->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred cr = {getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(h), &cr, sizeof cr);
  }
  return sendmsg(fd, &m, 0) == 1 ? 0 : errno;
}

static pid_t recv_cred(int fd) {
  char c;
  struct iovec io = {&c, 1};
  union { char b[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr h; } u;
  struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
  if (recvmsg(fd, &m, 0) != 1) return -1;
  for (struct cmsghdr* h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS) {
      struct ucred cr;
      memcpy(&cr, CMSG_DATA(h), sizeof cr);
      return cr.pid;
    }
  return -2;
}

int main(void) {
  int sp[2];
  SYS(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp));
  int on = 1;
  SYS(setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  int g[2];
  SYS(pipe(g));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char x;
    if (read(g[0], &x, 1) != 1) _exit(10);
    int e = send_cred(sp[1], 1);
    if (e) _exit(100 + e);
    _exit(send_cred(sp[1], 0) ? 11 : 0);
  }
  peer(kid);

  ready_wait();

  write_all(g[1], "x", 1);
  int st;
  SYS(waitpid(kid, &st, 0));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child could not send (status %d: 100+errno means the kernel refused its stated pid)",
        WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  pid_t p1 = recv_cred(sp[0]), p2 = recv_cred(sp[0]);
  CHECK(p1 == kid, "explicit credentials arrived with pid %d, want the child %d", (int)p1, (int)kid);
  CHECK(p2 == kid, "kernel-filled credentials arrived with pid %d, want the child %d", (int)p2, (int)kid);
  pass();
}
