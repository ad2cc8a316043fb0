/* A udev-style uevent listener: NETLINK_KOBJECT_UEVENT, SOCK_DGRAM, bound with nl_pid 0 (the
 * kernel picks the port id at bind) to group 1 (kernel uevents; open to any user), SO_PASSCRED and
 * a larger receive buffer, as libudev's monitor sets them. A second uevent socket (libudev's
 * monitor-to-monitor path; root only: the protocol refuses a user's sends) sends to the listener's
 * port id. After restart the listener keeps its port id (the kernel refuses it to a new socket)
 * and group, and, as root, receives the next message from the sender, with the sender's port id. */
#include "corpus.h"
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

static int member_of_1(int s) {
  uint32_t words[8] = {0};
  socklen_t l = sizeof words;
  if (getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &l) < 0) return -1;
  return l >= 4 && (words[0] & 1);
}

/* tx sends `msg` to port `to`; the listener l must receive it from tx's port. */
static int can_send = 1;
static int round_trip(int tx, int l, uint32_t to, uint32_t from, const char* msg, char* why, size_t wl) {
  struct sockaddr_nl dst = {.nl_family = AF_NETLINK, .nl_pid = to};
  if (sendto(tx, msg, strlen(msg), 0, (struct sockaddr*)&dst, sizeof dst) != (ssize_t)strlen(msg)) {
    if (errno == EPERM && can_send == 1) { can_send = 0; return 1; }
    snprintf(why, wl, "send to port %u: %s", to, strerror(errno));
    return 0;
  }
  struct pollfd p = {.fd = l, .events = POLLIN};
  if (poll(&p, 1, 10000) != 1) { snprintf(why, wl, "nothing received in 10 s"); return 0; }
  char buf[256];
  struct sockaddr_nl src;
  socklen_t sl = sizeof src;
  ssize_t n = recvfrom(l, buf, sizeof buf - 1, MSG_DONTWAIT, (struct sockaddr*)&src, &sl);
  if (n < 0) { snprintf(why, wl, "recv: %s", strerror(errno)); return 0; }
  buf[n] = 0;
  if (strcmp(buf, msg) || src.nl_pid != from) {
    snprintf(why, wl, "received '%s' from port %u, want '%s' from %u", buf, src.nl_pid, msg, from);
    return 0;
  }
  return 1;
}

int main(void) {
  int l = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (l < 0) skip("NETLINK_KOBJECT_UEVENT: %s", strerror(errno));
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
  if (bind(l, (struct sockaddr*)&sa, sizeof sa) < 0) skip("bind to the uevent group: %s", strerror(errno));
  int one = 1, rcv = 1 << 20;
  SYS(setsockopt(l, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
  if (setsockopt(l, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0) SYS(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv));
  int rcv_got = 0;
  socklen_t il = sizeof rcv_got;
  SYS(getsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcv_got, &il));
  int tx = SYS(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
  struct sockaddr_nl any = {.nl_family = AF_NETLINK};
  SYS(bind(tx, (struct sockaddr*)&any, sizeof any));
  struct sockaddr_nl nl, nt;
  socklen_t al = sizeof nl;
  SYS(getsockname(l, (struct sockaddr*)&nl, &al));
  al = sizeof nt;
  SYS(getsockname(tx, (struct sockaddr*)&nt, &al));
  char why[200] = "";
  CHECK(round_trip(tx, l, nl.nl_pid, nt.nl_pid, "libudev-before", why, sizeof why), "before: %s", why);

  ready_wait();

  struct sockaddr_nl rl, rt;
  al = sizeof rl;
  CHECK(getsockname(l, (struct sockaddr*)&rl, &al) == 0, "getsockname: %s (not a socket any more?)", strerror(errno));
  al = sizeof rt;
  CHECK(getsockname(tx, (struct sockaddr*)&rt, &al) == 0, "getsockname tx: %s", strerror(errno));
  CHECK(rl.nl_pid == nl.nl_pid && rt.nl_pid == nt.nl_pid, "port ids %u %u after restart, were %u %u", rl.nl_pid, rt.nl_pid,
        nl.nl_pid, nt.nl_pid);
  CHECK(rl.nl_groups == 1 && member_of_1(l) == 1, "group 1 lost (groups %#x)", rl.nl_groups);
  int v = 0;
  il = sizeof v;
  CHECK(getsockopt(l, SOL_SOCKET, SO_PASSCRED, &v, &il) == 0 && v == 1, "SO_PASSCRED lost");
  il = sizeof v;
  CHECK(getsockopt(l, SOL_SOCKET, SO_RCVBUF, &v, &il) == 0 && v == rcv_got, "SO_RCVBUF %d, was %d", v, rcv_got);
  il = sizeof v;
  CHECK(getsockopt(l, SOL_SOCKET, SO_PROTOCOL, &v, &il) == 0 && v == NETLINK_KOBJECT_UEVENT, "protocol %d", v);
  /* The port id is held in the kernel, not only shown: a new socket cannot take it. */
  int probe = SYS(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
  struct sockaddr_nl same = {.nl_family = AF_NETLINK, .nl_pid = nl.nl_pid};
  CHECK(bind(probe, (struct sockaddr*)&same, sizeof same) < 0 && errno == EADDRINUSE,
        "a new socket could bind the listener's port id %u (%s): the listener does not hold it", nl.nl_pid, strerror(errno));
  close(probe);
  if (can_send) CHECK(round_trip(tx, l, nl.nl_pid, nt.nl_pid, "libudev-after", why, sizeof why), "after restart: %s", why);
  pass();
}
