// Netlink sockets (AMBER_FD_SOCKET, family AF_NETLINK): route monitors and iproute-style tools
// (NETLINK_ROUTE with RTMGRP_* groups), udev/uevent listeners (NETLINK_KOBJECT_UEVENT), sock_diag
// and generic netlink clients, glibc's mq_notify helper socket. Record: format.h amber_nlsock.
//
// Capture: type and protocol, the port id (nl_pid of getsockname: bound explicitly, or autobound —
// the kernel then chose the process's pid, or a negative number when that was taken), the
// multicast memberships (NETLINK_LIST_MEMBERSHIPS, every group, not only the first 32 that
// getsockname shows), the connected destination (getpeername), and the SOL_NETLINK and SOL_SOCKET
// options that differ from a new socket's. The receive queue is the kernel's (dump replies,
// events): it cannot be refilled from user space, so a socket with a message waiting, or a dump
// the kernel is still making (sock_diag), is named at checkpoint (lost at restart), never silently
// emptied.
//
// Restore, before the fork (one socket per saved inode, shared by every descriptor of it in the
// tree): socket() with the same type and protocol, options, bind to the same port id (getsockname
// and the kernel's replies stay addressed as before; an autobound pid of the checkpointed run is
// taken as a number, no new pid leaks out), memberships added again, connected again. A protocol
// this user cannot open here, or a port id another socket holds, fails the restart by name: the
// program would otherwise talk to the kernel under another address.
#include "fd/socket.h"

namespace fd {
namespace {
enum : int {
  AF_NETLINK_ = 16, SOL_NETLINK_ = 270,
  NETLINK_ADD_MEMBERSHIP_ = 1, NETLINK_LIST_MEMBERSHIPS_ = 9,
};
// The options a program sets on a netlink socket, as (level, name, bytes).
struct NlOpt { int16_t level, name; uint8_t len; };
constexpr NlOpt kNlOpts[] = {
    {270, 3, 4},   // NETLINK_PKTINFO
    {270, 4, 4},   // NETLINK_BROADCAST_ERROR
    {270, 5, 4},   // NETLINK_NO_ENOBUFS
    {270, 8, 4},   // NETLINK_LISTEN_ALL_NSID (CAP_NET_BROADCAST to set)
    {270, 10, 4},  // NETLINK_CAP_ACK
    {270, 11, 4},  // NETLINK_EXT_ACK
    {270, 12, 4},  // NETLINK_GET_STRICT_CHK
    {1, 7, 4},     // SO_SNDBUF
    {1, 8, 4},     // SO_RCVBUF
    {1, 16, 4},    // SO_PASSCRED
    {1, 34, 4},    // SO_PASSSEC
    {1, 29, 4},    // SO_TIMESTAMP
    {1, 35, 4},    // SO_TIMESTAMPNS
    {1, 18, 4},    // SO_RCVLOWAT
    {1, 20, 16},   // SO_RCVTIMEO
    {1, 21, 16},   // SO_SNDTIMEO
    {1, 40, 4},    // SO_RXQ_OVFL
    {1, 36, 4},    // SO_MARK
    {1, 12, 4},    // SO_PRIORITY
};
constexpr uint32_t kGroupWords = 1024;  // 32768 groups: more than any family registers
}  // namespace
}  // namespace fd

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "agent/capture.h"

namespace fd {
namespace {
char g_why[200];

// Whether the kernel is in the middle of a dump for the socket (NDIAG_FLAG_CB_RUNNING, from
// sock_diag's NETLINK_DIAG: no privilege needed): the rest of the dump is made by the kernel as the
// program reads, and a new socket has none. 1 running, 0 not, -1 unknown. The netlink family's
// sock_diag lists every socket of the protocol (it has no inode filter): ours is found by inode.
int dump_running(amber::Capture& c, int protocol, uint64_t inode) {
  if (diag_socket(c) < 0) return -1;
  struct {
    uint32_t nlmsg_len;
    uint16_t nlmsg_type, nlmsg_flags;
    uint32_t nlmsg_seq, nlmsg_pid;
    uint8_t family, protocol;
    uint16_t pad;
    uint32_t ino, show, cookie[2];
  } req = {};
  req.nlmsg_len = sizeof req;
  req.nlmsg_type = 20;          // SOCK_DIAG_BY_FAMILY
  req.nlmsg_flags = 1 | 0x300;  // NLM_F_REQUEST | NLM_F_DUMP
  req.nlmsg_seq = (uint32_t)inode;
  req.family = AF_NETLINK_;
  req.protocol = (uint8_t)protocol;
  req.ino = (uint32_t)inode;
  req.show = 8;  // NDIAG_SHOW_FLAGS
  if (sys::write(c.diag_fd, &req, sizeof req) != (long)sizeof req) return -1;
  char* buf = c.a.base + ((c.a.used + 63) & ~size_t(63));
  size_t room = c.a.cap > (size_t)(buf - c.a.base) + 64 ? c.a.cap - (size_t)(buf - c.a.base) - 64 : 0;
  if (room > (1u << 16)) room = 1u << 16;
  if (room < 8192) return -1;
  int found = -1;
  for (;;) {
    // (the reply to our request only: the socket is ours, and nothing else was asked)
    if (!k_wait(c.diag_fd, 1, 2000)) return found;
    long n = sys::read(c.diag_fd, buf, room);
    if (n <= 0) return found;
    for (long off = 0; off + 16 <= n;) {
      uint32_t len;
      uint16_t type;
      memcpy(&len, buf + off, 4);
      memcpy(&type, buf + off + 4, 2);
      if (len < 16 || (uint64_t)off + len > (uint64_t)n) return found;
      if (type == 3 /*NLMSG_DONE*/ || type == 2 /*NLMSG_ERROR*/) return found;
      // netlink_diag_msg: family, type, protocol, state (4 bytes), portid, dst_portid, dst_group,
      // ino, cookie[2] (24): 28 bytes after the header, then attributes.
      uint32_t ino = 0;
      if (len >= 16 + 28) memcpy(&ino, buf + off + 16 + 16, 4);
      if (ino == (uint32_t)inode) {
        found = 0;
        for (uint32_t a = 16 + 28; a + 4 <= len;) {
          uint16_t alen, atype;
          memcpy(&alen, buf + off + a, 2);
          memcpy(&atype, buf + off + a + 2, 2);
          if (alen < 4 || a + alen > len) break;
          uint32_t flags = 0;
          if (atype == 4 /*NETLINK_DIAG_FLAGS*/ && alen >= 8) {
            memcpy(&flags, buf + off + a + 4, 4);
            if (flags & 1 /*NDIAG_FLAG_CB_RUNNING*/) found = 1;
          }
          a += (alen + 3u) & ~3u;
        }
      }
      off += (len + 3) & ~3u;
    }
  }
}
}  // namespace

void netlink_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  amber_sockinfo si{};
  socket_describe(f.fd, si, &f.subkind);
  f.subkind = AMBER_SOCK_OTHER;
  // getpeername of an unconnected netlink socket is all zero (no destination port, no group).
  uint32_t dst_pid = 0, dst_groups = 0;
  if (si.peer_len >= 12) { memcpy(&dst_pid, si.peer + 4, 4); memcpy(&dst_groups, si.peer + 8, 4); }
  if (dst_pid || dst_groups) f.subkind = AMBER_SOCK_CONNECTED;
  else si.peer_len = 0;
  amber_nlsock x{};
  x.magic = AMBER_NLSOCK_MAGIC;
  if (si.local_len >= 8) memcpy(&x.portid, si.local + 4, 4);
  if (x.portid) x.flags |= AMBER_NLSOCK_BOUND;
  // A message waiting: a zero-byte peek says so without taking it (MSG_TRUNC gives its length).
  char one;
  kiovec iov{&one, 0};
  kmsghdr m{};
  m.iov = &iov;
  m.iovlen = 1;
  long q = k_recvmsg(f.fd, &m, MSG_PEEK_ | MSG_DONTWAIT_ | MSG_TRUNC_);
  if (q >= 0) {
    x.flags |= AMBER_NLSOCK_QUEUED;
    x.queued = (uint32_t)q;
  }
  // (-1, not listed: an unbound socket, which has sent no request, has no dump running)
  if (dump_running(c, si.protocol, f.inode) == 1) x.flags |= AMBER_NLSOCK_DUMPING;
  uint32_t start = c.str.append(&si, sizeof si);
  uint32_t xat = c.str.append(&x, sizeof x);
  // Memberships: the bitmap, up to its last group in use.
  uint32_t* words = reinterpret_cast<uint32_t*>(c.str.ensure(kGroupWords * 4));
  if (!words) return;
  uint32_t gl = kGroupWords * 4;
  if (sys::getsockopt(f.fd, SOL_NETLINK_, NETLINK_LIST_MEMBERSHIPS_, words, &gl) == 0) {
    // The kernel says how many bytes the whole bitmap needs, writing at most what we gave.
    if (gl > kGroupWords * 4) { x.flags |= AMBER_NLSOCK_GROUPS_CUT; gl = kGroupWords * 4; }
    uint32_t n = gl / 4;
    while (n && !words[n - 1]) n--;
    x.ngroups = n;
    c.str.len += n * 4;
  }
  // Options that differ from a new socket's of the same type and protocol.
  long fresh = sys::socket(AF_NETLINK_, si.type | O_CLOEXEC, si.protocol);
  for (const NlOpt& d : kNlOpts) {
    amber_sockopt o{};
    if (!opt_to_save(f.fd, (int)fresh, d.level, d.name, d.len, o, true)) continue;
    c.str.append(&o, sizeof o);
    x.nopts++;
  }
  if (fresh >= 0) sys::close((int)fresh);
  x.size = c.str.len - xat;
  if (c.str.full) return;
  memcpy(c.str.buf + xat, &x, sizeof x);
  uint32_t end = c.str.len;
  c.str.append("", 1);  // the NUL every string has
  f.data = amber_str{start, end - start};
  if (x.flags & AMBER_NLSOCK_QUEUED) {
    sys::Out o(g_why, sizeof g_why);
    o.s("a netlink socket (protocol ").i(si.protocol).s(") had messages waiting in its receive queue (")
        .u(x.queued).s(" bytes first): the kernel's messages cannot be queued again, they are lost at restart");
    c.limit(f, g_why);
  }
  if ((x.flags & AMBER_NLSOCK_DUMPING) && !(x.flags & AMBER_NLSOCK_QUEUED))
    c.limit(f, "a netlink socket was in the middle of a kernel dump (the kernel makes the rest as the program reads): the rest of the dump is lost at restart");
  if (x.flags & AMBER_NLSOCK_GROUPS_CUT)
    c.limit(f, "a netlink socket is a member of more multicast groups than amber reads (32768): the others are not joined again");
}

bool netlink_restorable(const amber::Capture& c, const amber_fd& f) {
  if (!f.data.len || f.data.len < sizeof(amber_sockinfo) + sizeof(amber_nlsock)) return false;
  amber_nlsock x;
  memcpy(&x, c.str.buf + f.data.off + sizeof(amber_sockinfo), sizeof x);
  return x.magic == AMBER_NLSOCK_MAGIC;
}
AMBER_FD_NO_RESUMED(netlink)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
namespace {
struct NlView {
  amber_sockinfo si;
  amber_nlsock x;
  const char* groups;
  const char* opts;
};

bool parse(const amber_view& v, const amber_fd& f, NlView* out) {
  const char* d;
  uint32_t len;
  if (!amber_str_at(&v, f.data, &d, &len) || len < sizeof(amber_sockinfo) + sizeof(amber_nlsock)) return false;
  memcpy(&out->si, d, sizeof out->si);
  memcpy(&out->x, d + sizeof out->si, sizeof out->x);
  const amber_nlsock& x = out->x;
  if (x.magic != AMBER_NLSOCK_MAGIC || out->si.local_len > sizeof out->si.local || out->si.peer_len > sizeof out->si.peer) return false;
  uint64_t need = sizeof(amber_nlsock) + (uint64_t)x.ngroups * 4 + (uint64_t)x.nopts * sizeof(amber_sockopt);
  if (x.size < need || sizeof(amber_sockinfo) + (uint64_t)x.size > len || x.ngroups > kGroupWords) return false;
  out->groups = d + sizeof(amber_sockinfo) + sizeof(amber_nlsock);
  out->opts = out->groups + (uint64_t)x.ngroups * 4;
  return true;
}

// "fd N (netlink protocol P)" of the failure, then the restart ends: the program must not talk
// to the kernel under another address or without its groups.
[[noreturn]] void refuse(int img, const amber_fd& f, const NlView& n, const char* what, long err) {
  // Named by its image (the process) too: before the fork the message has no image of its own.
  sys::Out(rs::S.image, sizeof rs::S.image).s(rs::T.img[img].path);
  char detail[160];
  sys::Out(detail, sizeof detail).s("(fd ").i(f.fd).s(", netlink protocol ").i(n.si.protocol).s(", port id ").u(n.x.portid).c(')');
  rs::die(rs::EXIT_HOST, what, detail, err);
}

long make(int img, const amber_fd& f, const NlView& n) {
  long s = sys::socket(AF_NETLINK_, n.si.type | sys::O_CLOEXEC_, n.si.protocol);
  if (s < 0) refuse(img, f, n, "cannot open the netlink socket again (the protocol is missing here, or not open to this user)", s);
  s = rs::lift(s);
  for (uint32_t k = 0; k < n.x.nopts; k++) {
    amber_sockopt o;
    memcpy(&o, n.opts + (uint64_t)k * sizeof o, sizeof o);
    if (o.len > sizeof o.val) continue;
    long r;
    if (o.level == SOL_SOCKET_ && (o.name == SO_SNDBUF_ || o.name == SO_RCVBUF_) && o.len == 4) {
      // Read back doubled (the kernel's bookkeeping): set half; FORCE passes the system's limit
      // when we may, as the program's own setting once did.
      int val;
      memcpy(&val, o.val, 4);
      val /= 2;
      r = sys::setsockopt((int)s, SOL_SOCKET_, o.name == SO_SNDBUF_ ? SO_SNDBUFFORCE_ : SO_RCVBUFFORCE_, &val, sizeof val);
      if (r < 0) r = sys::setsockopt((int)s, SOL_SOCKET_, o.name, &val, sizeof val);
    } else {
      r = sys::setsockopt((int)s, o.level, o.name, o.val, o.len);
    }
    if (r < 0) {
      char what[80];
      sys::Out(what, sizeof what).s("cannot set its socket option ").i(o.level).c('/').i(o.name).s(" again");
      rs::warn_fd(what, f, r, "it keeps the default");
    }
  }
  if (n.x.flags & AMBER_NLSOCK_BOUND) {
    // The port id of the checkpointed run; its dying holder may not have let it go yet.
    uint8_t sa[12] = {AF_NETLINK_, 0, 0, 0};
    memcpy(sa + 4, &n.x.portid, 4);
    long r = k_bind((int)s, sa, sizeof sa);
    for (int i = 0; r == -98 /*EADDRINUSE*/ && i < 60; i++) {
      sys::ktimespec ts{0, 50 * 1000000};
      sys::nanosleep(&ts, nullptr);
      r = k_bind((int)s, sa, sizeof sa);
    }
    if (r < 0) refuse(img, f, n, "cannot bind the netlink socket to its port id again (another socket holds it)", r);
  }
  for (uint32_t w = 0; w < n.x.ngroups; w++) {
    uint32_t bits;
    memcpy(&bits, n.groups + 4ull * w, 4);
    for (uint32_t b = 0; b < 32; b++) {
      if (!(bits & (1u << b))) continue;
      uint32_t group = w * 32 + b + 1;
      long r = sys::setsockopt((int)s, SOL_NETLINK_, NETLINK_ADD_MEMBERSHIP_, &group, sizeof group);
      if (r < 0) {
        char what[80];
        sys::Out(what, sizeof what).s("cannot join multicast group ").u(group).s(" again");
        refuse(img, f, n, what, r);
      }
    }
  }
  if (n.si.peer_len >= 12) {
    long r = sys::connect((int)s, n.si.peer, 12);
    if (r < 0) refuse(img, f, n, "cannot connect the netlink socket to its destination again", r);
  }
  return s;
}
}  // namespace

void netlink_check(int img) {
  // Nothing started yet: a protocol this user cannot open here is refused now rather than after
  // the fork.
  const amber_view& v = rs::T.img[img].v;
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    NlView n;
    if (f.kind != AMBER_FD_SOCKET || !parse(v, f, &n) || n.si.family != AF_NETLINK_) continue;
    long s = sys::socket(AF_NETLINK_, n.si.type | sys::O_CLOEXEC_, n.si.protocol);
    if (s < 0) refuse(img, f, n, "cannot open the netlink socket again (the protocol is missing here, or not open to this user)", s);
    sys::close((int)s);
  }
}

void netlink_prepare() {
  using namespace rs;
  for (Ref* r = refs_begin(Kind::NETLINK); r != refs_end(Kind::NETLINK);) {
    Ref* end = r;
    while (end != refs_end(Kind::NETLINK) && end->inode == r->inode) end++;
    // One socket for every descriptor of it in the tree (a socket dup'ed, or inherited by a child).
    const Ref* rec = nullptr;
    NlView n;
    for (Ref* e = r; e != end && !rec; e++)
      if (parse(T.img[e->img].v, fd_of(*e), &n)) rec = e;
    if (rec) {
      long s = make((int)rec->img, fd_of(*rec), n);
      for (Ref* e = r; e != end; e++) T.img[e->img].prep[e->idx] = (int32_t)s;
    }
    r = end;
  }
}

long netlink_restore(rs::Proc&, uint32_t) { return -1; }  // an image before 1.7: /dev/null, as then
AMBER_FD_NO_FINISH(netlink)
}  // namespace fd
#endif
