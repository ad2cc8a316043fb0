/* NETLINK_ROUTE sockets as route monitors and iproute-style tools keep them: one bound explicitly
 * to a port id of its own with RTMGRP_LINK (and group RTNLGRP_IPV6_RULE = 19 through
 * NETLINK_ADD_MEMBERSHIP, and a group above 32), NETLINK_NO_ENOBUFS, SO_PASSCRED and a receive
 * buffer set; one autobound (port id = the process's pid) by its first send, O_NONBLOCK, no
 * close-on-exec, connected to the kernel; as root a third one connected to the first's port id.
 * After restart they keep their port ids (getsockname), groups, options, flags and destination
 * (getpeername), and an RTM_GETLINK dump on each is answered with the loopback link. */
#include "corpus.h"
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

/* An RTM_GETLINK dump: true when the reply lists the loopback link (its index), up to NLMSG_DONE. */
static int dump_has_lo(int s, unsigned seq, char* why, size_t wl) {
  struct {
    struct nlmsghdr h;
    struct ifinfomsg i;
  } req = {.h = {.nlmsg_len = sizeof req, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = seq},
           .i = {.ifi_family = AF_UNSPEC}};
  struct sockaddr_nl k = {.nl_family = AF_NETLINK};
  if (sendto(s, &req, sizeof req, 0, (struct sockaddr*)&k, sizeof k) != (ssize_t)sizeof req) {
    snprintf(why, wl, "send RTM_GETLINK: %s", strerror(errno));
    return 0;
  }
  int lo = (int)if_nametoindex("lo"), seen = 0;
  static char buf[1 << 16];
  for (;;) {
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, 10000) != 1) { snprintf(why, wl, "no reply to RTM_GETLINK in 10 s"); return 0; }
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n < 0) { snprintf(why, wl, "recv: %s", strerror(errno)); return 0; }
    for (struct nlmsghdr* h = (struct nlmsghdr*)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;  /* (a group event, not our reply) */
      if (h->nlmsg_type == NLMSG_DONE) {
        if (!seen) snprintf(why, wl, "the dump did not list lo (index %d)", lo);
        return seen;
      }
      if (h->nlmsg_type == NLMSG_ERROR) { snprintf(why, wl, "the kernel answered an error"); return 0; }
      if (h->nlmsg_type == RTM_NEWLINK && ((struct ifinfomsg*)NLMSG_DATA(h))->ifi_index == lo) seen = 1;
    }
  }
}

static int member_of(int s, unsigned group) {
  uint32_t words[64] = {0};
  socklen_t l = sizeof words;
  if (getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &l) < 0) return -1;
  return group - 1 < l * 8 ? (words[(group - 1) / 32] >> ((group - 1) % 32)) & 1 : 0;
}

int main(void) {
  /* The explicit port id: one of ours that no pid is likely to be, and not the autobound one. */
  uint32_t port = 0x70000000u | (uint32_t)getpid();
  int a = SYS(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_pid = port, .nl_groups = RTMGRP_LINK};
  SYS(bind(a, (struct sockaddr*)&sa, sizeof sa));
  unsigned g19 = 19 /* RTNLGRP_IPV6_RULE */, g_hi = 33 /* RTNLGRP_IPV6_NETCONF? any group above 32 */;
  SYS(setsockopt(a, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g19, sizeof g19));
  if (setsockopt(a, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g_hi, sizeof g_hi) < 0) g_hi = 0;
  int one = 1, rcv = 300000;
  SYS(setsockopt(a, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one));
  SYS(setsockopt(a, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
  SYS(setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv));
  int rcv_got = 0;
  socklen_t il = sizeof rcv_got;
  SYS(getsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcv_got, &il));

  /* Autobound by its first send: its port id is the process's pid (or another number the kernel chose). */
  int b = SYS(socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_ROUTE));
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  SYS(connect(b, (struct sockaddr*)&kernel, sizeof kernel));
  char why[200] = "";
  CHECK(dump_has_lo(b, 1, why, sizeof why), "before: %s", why);
  CHECK(dump_has_lo(a, 2, why, sizeof why), "before: %s", why);
  struct sockaddr_nl na, nb;
  socklen_t l = sizeof na;
  SYS(getsockname(a, (struct sockaddr*)&na, &l));
  l = sizeof nb;
  SYS(getsockname(b, (struct sockaddr*)&nb, &l));
  CHECK(na.nl_pid == port, "explicit port id %u, want %u", na.nl_pid, port);
  CHECK(nb.nl_pid != 0, "the socket was not autobound by its send");
  /* Connected to a's port id (root only: a user may not address another socket on this protocol). */
  int c = SYS(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  struct sockaddr_nl to_a = {.nl_family = AF_NETLINK, .nl_pid = port};
  int c_conn = connect(c, (struct sockaddr*)&to_a, sizeof to_a) == 0;
  int afl = fcntl(a, F_GETFL), bfl = fcntl(b, F_GETFL), afd = fcntl(a, F_GETFD), bfd = fcntl(b, F_GETFD);

  ready_wait();

  struct sockaddr_nl ra, rb, pb;
  l = sizeof ra;
  CHECK(getsockname(a, (struct sockaddr*)&ra, &l) == 0, "getsockname a: %s", strerror(errno));
  l = sizeof rb;
  CHECK(getsockname(b, (struct sockaddr*)&rb, &l) == 0, "getsockname b: %s (not a socket any more?)", strerror(errno));
  CHECK(ra.nl_pid == na.nl_pid, "explicit port id %u after restart, was %u", ra.nl_pid, na.nl_pid);
  CHECK(rb.nl_pid == nb.nl_pid, "autobound port id %u after restart, was %u", rb.nl_pid, nb.nl_pid);
  CHECK(ra.nl_groups == na.nl_groups, "groups (first 32) %#x after restart, was %#x", ra.nl_groups, na.nl_groups);
  CHECK(member_of(a, RTNLGRP_LINK) == 1 && member_of(a, g19) == 1, "memberships lost (link %d, group 19 %d)",
        member_of(a, RTNLGRP_LINK), member_of(a, g19));
  if (g_hi) CHECK(member_of(a, g_hi) == 1, "membership of group %u (above 32) lost", g_hi);
  CHECK(member_of(a, 2) == 0, "a group never joined (2) is joined");
  l = sizeof pb;
  CHECK(getpeername(b, (struct sockaddr*)&pb, &l) == 0 && pb.nl_family == AF_NETLINK, "getpeername b: %s", strerror(errno));
  int v = 0;
  if (c_conn) {
    struct sockaddr_nl pc;
    l = sizeof pc;
    CHECK(getpeername(c, (struct sockaddr*)&pc, &l) == 0 && pc.nl_pid == port, "the connected socket's destination is port %u, want %u",
          pc.nl_pid, port);
  }
  il = sizeof v;
  CHECK(getsockopt(a, SOL_NETLINK, NETLINK_NO_ENOBUFS, &v, &il) == 0 && v == 1, "NETLINK_NO_ENOBUFS lost");
  il = sizeof v;
  CHECK(getsockopt(a, SOL_SOCKET, SO_PASSCRED, &v, &il) == 0 && v == 1, "SO_PASSCRED lost");
  il = sizeof v;
  CHECK(getsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, &il) == 0 && v == rcv_got, "SO_RCVBUF %d, was %d", v, rcv_got);
  il = sizeof v;
  CHECK(getsockopt(b, SOL_SOCKET, SO_TYPE, &v, &il) == 0 && v == SOCK_DGRAM, "type of b %d, want SOCK_DGRAM", v);
  il = sizeof v;
  CHECK(getsockopt(a, SOL_SOCKET, SO_PROTOCOL, &v, &il) == 0 && v == NETLINK_ROUTE, "protocol %d, want NETLINK_ROUTE", v);
  CHECK(fcntl(a, F_GETFL) == afl && fcntl(b, F_GETFL) == bfl, "status flags %#x %#x, were %#x %#x", fcntl(a, F_GETFL),
        fcntl(b, F_GETFL), afl, bfl);
  CHECK(fcntl(a, F_GETFD) == afd && fcntl(b, F_GETFD) == bfd, "close-on-exec %d %d, was %d %d", fcntl(a, F_GETFD),
        fcntl(b, F_GETFD), afd, bfd);
  CHECK(dump_has_lo(b, 3, why, sizeof why), "after restart (autobound socket): %s", why);
  CHECK(dump_has_lo(a, 4, why, sizeof why), "after restart (bound socket): %s", why);
  pass();
}
