/* The socket wrappers (getsockopt, recvmsg, sendmsg) on invalid pointers, descriptors and sizes,
 * credentials included (SO_PEERCRED and SCM_CREDENTIALS carry pids the agent translates): the
 * kernel's answer, before the checkpoint and after the restart. */
#include "efault.h"
#include <sys/socket.h>
#include <sys/un.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static void checks(void) {
  int sv[2];
  SYS(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
  int one = 1;
  SYS(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
  int ss[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, ss));
  struct ucred cr;
  socklen_t len = sizeof cr, badlen = (socklen_t)-1, zero = 0;
  int fd = SYS(open("/dev/null", O_RDONLY));

  /* getsockopt */
  T(getsockopt(-1, SOL_SOCKET, SO_PEERCRED, &cr, &len), SYS_getsockopt, -1, SOL_SOCKET, SO_PEERCRED, &cr, &len);
  T(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len), SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cr, &len);
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, P1, &len), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, P1, &len);
  len = sizeof cr;
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, P_RO, &len), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, P_RO, &len);
  len = sizeof cr;
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, NULL, &len), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, NULL, &len);
  len = sizeof cr;
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, &cr, P1), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, &cr, P1);
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, &cr, NULL), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, &cr, NULL);
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, &cr, P_RO), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, &cr, P_RO);
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, &cr, P_NONE), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, &cr, P_NONE);
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, &cr, &badlen), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, &cr, &badlen);
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, &cr, &zero), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, &cr, &zero);
  len = 4;
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERCRED, P1, &len), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERCRED, P1, &len);
  len = sizeof(int);
  T(getsockopt(ss[0], SOL_SOCKET, SO_TYPE, P1, &len), SYS_getsockopt, ss[0], SOL_SOCKET, SO_TYPE, P1, &len);
  T(getsockopt(ss[0], 9999, 1, &cr, &len), SYS_getsockopt, ss[0], 9999, 1, &cr, &len);
  T(getsockopt(ss[0], SOL_SOCKET, 9999, &cr, &len), SYS_getsockopt, ss[0], SOL_SOCKET, 9999, &cr, &len);
  len = sizeof(int);
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERPIDFD, P1, &len), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERPIDFD, P1, &len);
  len = 64;
  T(getsockopt(ss[0], SOL_SOCKET, SO_PEERGROUPS, P1, &len), SYS_getsockopt, ss[0], SOL_SOCKET, SO_PEERGROUPS, P1, &len);

  /* sendmsg */
  char data[8] = "abc";
  struct iovec iov = {data, 3};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  T(sendmsg(-1, &m, 0), SYS_sendmsg, -1, &m, 0);
  T(sendmsg(fd, &m, 0), SYS_sendmsg, fd, &m, 0);
  T(sendmsg(sv[0], P1, 0), SYS_sendmsg, sv[0], P1, 0);
  T(sendmsg(sv[0], NULL, 0), SYS_sendmsg, sv[0], NULL, 0);
  T(sendmsg(sv[0], P_NONE, MSG_DONTWAIT), SYS_sendmsg, sv[0], P_NONE, MSG_DONTWAIT);
  m.msg_control = P1;
  m.msg_controllen = CMSG_SPACE(sizeof(struct ucred));
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  m.msg_control = P_NONE;
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  m.msg_control = NULL;
  m.msg_controllen = 0;
  m.msg_iov = P1;
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  m.msg_iov = &iov;
  m.msg_iovlen = 1 << 20;
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  m.msg_iovlen = 1;
  iov.iov_base = P1;
  T(sendmsg(sv[0], &m, MSG_DONTWAIT), SYS_sendmsg, sv[0], &m, MSG_DONTWAIT);
  iov.iov_base = data;
  m.msg_name = P1;
  m.msg_namelen = sizeof(struct sockaddr_un);
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  m.msg_name = NULL;
  m.msg_namelen = 0;
  /* credentials naming a process that does not exist, a cmsg whose length lies */
  union {
    char b[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } cb;
  memset(&cb, 0, sizeof cb);
  struct cmsghdr* c = (struct cmsghdr*)cb.b;
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  struct ucred bad = {BADPID, getuid(), getgid()};
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  m.msg_control = cb.b;
  m.msg_controllen = sizeof cb.b;
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  c->cmsg_len = 1000;
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  c->cmsg_len = CMSG_LEN(2);
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  bad.pid = -1;
  memcpy(CMSG_DATA(c), &bad, sizeof bad);
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  /* a control buffer whose last part is unreadable: the header readable, the data not */
  m.msg_controllen = CMSG_SPACE(sizeof(struct ucred));
  m.msg_control = (char*)P_RO + 4096 - 8;
  T(sendmsg(sv[0], &m, 0), SYS_sendmsg, sv[0], &m, 0);
  m.msg_control = NULL;
  m.msg_controllen = 0;

  /* recvmsg */
  struct msghdr r;
  char in[16];
  struct iovec riov = {in, sizeof in};
  memset(&r, 0, sizeof r);
  r.msg_iov = &riov;
  r.msg_iovlen = 1;
  T(recvmsg(-1, &r, MSG_DONTWAIT), SYS_recvmsg, -1, &r, MSG_DONTWAIT);
  T(recvmsg(fd, &r, MSG_DONTWAIT), SYS_recvmsg, fd, &r, MSG_DONTWAIT);
  T(recvmsg(sv[1], P1, MSG_DONTWAIT), SYS_recvmsg, sv[1], P1, MSG_DONTWAIT);
  T(recvmsg(sv[1], P_RO, MSG_DONTWAIT), SYS_recvmsg, sv[1], P_RO, MSG_DONTWAIT);
  T(recvmsg(sv[1], NULL, MSG_DONTWAIT), SYS_recvmsg, sv[1], NULL, MSG_DONTWAIT);
  T(recvmsg(sv[1], &r, MSG_DONTWAIT), SYS_recvmsg, sv[1], &r, MSG_DONTWAIT);
  /* with messages carrying credentials queued: one for glibc, one for the kernel, each time */
  static const struct {
    int ctl;   /* 0 NULL, 1 P1, 2 P_RO, 3 P_NONE */
    int iov;   /* 0 good, 1 P1 iov_base, 2 iov array P1 */
    int hdr;   /* 0 good msghdr, 1 read-only msghdr (the kernel writes msg_flags, msg_controllen) */
  } cases[] = {{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {0, 1, 0}, {0, 2, 0}, {1, 1, 0}, {0, 0, 1}, {1, 0, 1}};
  for (volatile size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (int k = 0; k < 2; k++) SYS(send(sv[0], "xy", 2, 0));
    void* ctls[] = {NULL, P1, P_RO, P_NONE};
    r.msg_control = ctls[cases[i].ctl];
    r.msg_controllen = cases[i].ctl ? 64 : 0;
    riov.iov_base = cases[i].iov == 1 ? P1 : in;
    r.msg_iov = cases[i].iov == 2 ? P1 : &riov;
    struct msghdr* volatile hp = &r;
    if (cases[i].hdr) {
      SYS(mprotect(P_RO, 4096, PROT_READ | PROT_WRITE));
      memcpy(P_RO, &r, sizeof r);
      SYS(mprotect(P_RO, 4096, PROT_READ));
      hp = P_RO;
    }
    char name[96];
    snprintf(name, sizeof name, "recvmsg with SCM_CREDENTIALS queued, control %d iov %d header %d", cases[i].ctl,
             cases[i].iov, cases[i].hdr);
    do {
      EF_BEGIN(recvmsg);
      ef_case = name;
      long l = recvmsg(sv[1], hp, MSG_DONTWAIT);
      l = l == -1 ? -(long)errno : l;
      long kf = (long)hp->msg_flags;
      /* the kernel wrote msg_controllen and msg_flags back: the same header again */
      if (!cases[i].hdr) {
        r.msg_controllen = cases[i].ctl ? 64 : 0;
        r.msg_flags = 0;
      }
      long k = RAW(SYS_recvmsg, sv[1], hp, MSG_DONTWAIT);
      ef_cmp(l, k, "kernel");
      ef_cmp(kf, (long)hp->msg_flags, "kernel's msg_flags");
    } while (0);
    while (recv(sv[1], in, sizeof in, MSG_DONTWAIT) > 0) {
    }
  }
  close(sv[0]);
  close(sv[1]);
  close(ss[0]);
  close(ss[1]);
  close(fd);
}

int main(void) { return efault_main(); }
