// What the two socket kinds share (fd/unix.cc, fd/inet.cc; fd/socket.cc holds the common code).
//
// The record (format.h, parsed by image/sockrec.h): amber_sockinfo (family, type, protocol,
// addresses), the bytes waiting in the receive queue, then (1.4) amber_sockx: the kernel state
// (TCP state, shutdown), the options that differ from a new socket's, the queued messages of a
// datagram/seqpacket socket (boundaries, sender addresses, descriptors carried), and a listener's
// connections not accepted yet.
//
// Capture (agent, every thread parked) reads without consuming: queues are peeked with SO_PEEK_OFF,
// message by message; descriptors in flight come with the peek (SCM_RIGHTS installs copies in our
// table) and are captured after the table as hidden records (AMBER_FD_HIDDEN), then closed. Two
// states cannot be read without taking them: an ICMP socket's replies (no SO_PEEK_OFF: read, then
// asked for again from loopback at once) and a listener's pending connections (accepted only when
// the checkpoint ends the computation, `suspend G end`: held until the end, or given back as
// closed if the program goes on after all).
//
// Restore (restorer, before the fork, for the whole tree): every socket is made again — never
// /dev/null: options first, bound to its address, listening again, connected to the partner it
// had (a new pair when both ends are in the tree, through the rebuilt listener when there is one
// so the addresses stay), its queue refilled in order by whoever can write into it, shutdowns and
// closing states recreated. A connection whose other end is outside the computation (or whose
// send queue held bytes) comes back as a dead connection: its queued bytes, then an error, never
// a silent change. See README "What is restored".
#ifndef AMBER_FD_SOCKET_H
#define AMBER_FD_SOCKET_H

#include "fd/ops.h"
#include "image/sockrec.h"

namespace fd {
// The kernel's x86-64 ABI for the calls sys.h does not have (the restorer has no libc headers).
struct kiovec { void* base; uint64_t len; };
struct kmsghdr {
  void* name;
  uint32_t namelen, pad0;
  kiovec* iov;
  uint64_t iovlen;
  void* control;
  uint64_t controllen;
  int32_t flags, pad1;
};
struct kcmsghdr { uint64_t len; int32_t level, type; };
constexpr uint64_t cmsg_align(uint64_t n) { return (n + 7) & ~7ull; }
enum : long { NR_sendto = 44, NR_sendmsg = 46, NR_recvmsg = 47, NR_shutdown = 48, NR_poll = 7, NR_kcmp = 312 };
enum : int {
  MSG_OOB_ = 1, MSG_PEEK_ = 2, MSG_TRUNC_ = 0x20, MSG_DONTWAIT_ = 0x40, MSG_NOSIGNAL_ = 0x4000,
  MSG_CMSG_CLOEXEC_ = 0x40000000, MSG_CTRUNC_ = 8,
  SOL_SOCKET_ = 1, SCM_RIGHTS_ = 1, SCM_CREDENTIALS_ = 2, SO_PEEK_OFF_ = 42, SO_REUSEADDR_ = 2,
  SO_SNDBUF_ = 7, SO_RCVBUF_ = 8, SO_LINGER_ = 13, SO_REUSEPORT_ = 15, SO_PASSCRED_ = 16,
  SO_SNDBUFFORCE_ = 32, SO_RCVBUFFORCE_ = 33,
  // SO_ATTACH_FILTER (= SO_GET_FILTER) and SO_LOCK_FILTER: a classic BPF filter is saved as
  // SO_ATTACH_FILTER options of 16 bytes each (two instructions), amber_sockopt.pad = kFilterTag.
  kSoAttachFilter = 26, kSoLockFilter = 44, kMaxInsns = 4096 /*BPF_MAXINSNS*/, kFilterTag = 0x544c4946 /*"FILT"*/,
  // MCAST_JOIN_GROUP (IPPROTO_IP and IPPROTO_IPV6): a multicast membership, saved as an option
  // with the group's address in val (4 or 16 bytes) and the interface index in pad.
  kMcastJoinGroup = 42,
  AF_UNIX_ = 1, AF_INET_ = 2, AF_INET6_ = 10,
  SOCK_STREAM_ = 1, SOCK_DGRAM_ = 2, SOCK_RAW_ = 3, SOCK_SEQPACKET_ = 5,
  IPPROTO_ICMP_ = 1, IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17, IPPROTO_IPV6_ = 41, IPPROTO_ICMPV6_ = 58,
  IPPROTO_UDPLITE_ = 136, IPV6_V6ONLY_ = 26,
  TCP_ESTABLISHED_ = 1, TCP_SYN_SENT_ = 2, TCP_SYN_RECV_ = 3, TCP_FIN_WAIT1_ = 4, TCP_FIN_WAIT2_ = 5,
  TCP_TIME_WAIT_ = 6, TCP_CLOSE_ = 7, TCP_CLOSE_WAIT_ = 8, TCP_LAST_ACK_ = 9, TCP_LISTEN_ = 10,
  TCP_CLOSING_ = 11,
  SHUT_RD_ = 0, SHUT_WR_ = 1, SHUT_RDWR_ = 2, RCV_SHUTDOWN_ = 1, SEND_SHUTDOWN_ = 2,
};
inline long k_recvmsg(int fd, kmsghdr* m, int fl) { return sys::sc3(NR_recvmsg, fd, (long)m, fl); }
inline long k_sendmsg(int fd, const kmsghdr* m, int fl) { return sys::sc3(NR_sendmsg, fd, (long)m, fl); }
inline long k_sendto(int fd, const void* b, uint64_t n, int fl, const void* a, uint32_t al) {
  return sys::sc6(NR_sendto, fd, (long)b, (long)n, fl, (long)a, al);
}
inline long k_shutdown(int fd, int how) { return sys::sc2(NR_shutdown, fd, how); }
inline long k_bind(int fd, const void* a, uint32_t al) { return sys::sc3(sys::NR_bind, fd, (long)a, al); }
inline long k_listen(int fd, int backlog) { return sys::sc2(sys::NR_listen, fd, backlog); }
inline long k_accept4(int fd, int fl) { return sys::sc4(sys::NR_accept4, fd, 0, 0, fl); }
inline long k_getsockname(int fd, void* a, uint32_t* al) { return sys::sc3(sys::NR_getsockname, fd, (long)a, (long)al); }
inline long k_getpeername(int fd, void* a, uint32_t* al) { return sys::sc3(sys::NR_getpeername, fd, (long)a, (long)al); }
struct kpollfd { int32_t fd; int16_t events, revents; };
// Waits up to ms for fd to be readable (events 1) or writable (4); true if it is.
inline bool k_wait(int fd, int16_t events, int ms) {
  kpollfd p{fd, events, 0};
  return sys::sc3(NR_poll, (long)&p, 1, ms) > 0 && (p.revents & events);
}
inline int get_int(int fd, int level, int name, int dflt) {
  int v = dflt;
  uint32_t l = sizeof v;
  return sys::getsockopt(fd, level, name, &v, &l) < 0 ? dflt : v;
}
inline long set_int(int fd, int level, int name, int v) { return sys::setsockopt(fd, level, name, &v, sizeof v); }

// Addresses: a v4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address for everything that
// compares them (the same connection seen from an AF_INET and an AF_INET6 end).
struct Addr { uint16_t family; uint16_t port; uint8_t ip[16]; };  // family 2 (ip[0..3]) or 10
inline bool addr_of(const uint8_t* sa, uint32_t len, Addr* a) {
  for (int i = 0; i < 16; i++) a->ip[i] = 0;
  uint16_t fam = (uint16_t)(sa[0] | sa[1] << 8);
  if (fam == AF_INET_ && len >= 8) {
    a->family = AF_INET_;
    a->port = (uint16_t)(sa[2] << 8 | sa[3]);
    for (int i = 0; i < 4; i++) a->ip[i] = sa[4 + i];
    return true;
  }
  if (fam == AF_INET6_ && len >= 24) {
    a->port = (uint16_t)(sa[2] << 8 | sa[3]);
    bool mapped = true;
    for (int i = 0; i < 10; i++) mapped = mapped && sa[8 + i] == 0;
    mapped = mapped && sa[18] == 0xff && sa[19] == 0xff;
    if (mapped) {
      a->family = AF_INET_;
      for (int i = 0; i < 4; i++) a->ip[i] = sa[20 + i];
    } else {
      a->family = AF_INET6_;
      for (int i = 0; i < 16; i++) a->ip[i] = sa[8 + i];
    }
    return true;
  }
  return false;
}
inline bool addr_eq(const Addr& a, const Addr& b) {
  if (a.family != b.family || a.port != b.port) return false;
  for (int i = 0; i < 16; i++) if (a.ip[i] != b.ip[i]) return false;
  return true;
}
inline bool addr_any(const Addr& a) {
  for (int i = 0; i < 16; i++) if (a.ip[i]) return false;
  return true;
}
inline bool addr_loopback(const Addr& a) {
  if (a.family == AF_INET_) return a.ip[0] == 127;
  for (int i = 0; i < 15; i++) if (a.ip[i]) return false;
  return a.ip[15] == 1;
}
// Writes a sockaddr of `family` (an AF_INET6 socket reaches an IPv4 address v4-mapped); its length.
inline uint32_t sockaddr_for(uint16_t family, const Addr& a, uint8_t* out) {
  for (int i = 0; i < 28; i++) out[i] = 0;
  out[0] = (uint8_t)family;
  out[2] = (uint8_t)(a.port >> 8);
  out[3] = (uint8_t)a.port;
  if (family == AF_INET_) {
    for (int i = 0; i < 4; i++) out[4 + i] = a.ip[i];
    return 16;
  }
  if (a.family == AF_INET_) {
    out[18] = out[19] = 0xff;
    for (int i = 0; i < 4; i++) out[20 + i] = a.ip[i];
  } else {
    for (int i = 0; i < 16; i++) out[8 + i] = a.ip[i];
  }
  return 28;
}
}  // namespace fd

#ifdef AMBER_AGENT
namespace fd {
// What a family found out about one socket, for socket_capture.
struct SockFacts {
  uint32_t state, shutdown, flags, backlog;
  uint32_t peer_ino;
  uint32_t vfs_ino;        // a Unix socket bound to a path: its socket file's inode (0 unknown)
  uint32_t pending;        // a listener's connections waiting to be accepted (when not taken)
  bool drain;              // TCP, checkpoint ending the program: read the queue to the end
  bool drain_quick;        // ... and the peer is not on loopback: an empty queue ends it at once
};
// Family, type, protocol, both addresses; listening or connected (f.subkind).
void socket_describe(int fd, amber_sockinfo& si, uint32_t* subkind);
// A socket of a family amber does not rebuild (fd/other.cc): just its description, for inspect.
void socket_store(amber::Capture& c, amber_fd& f, amber_sockinfo& si);
// Stores the whole record (sockinfo, queue, amber_sockx, options, messages, pending connections)
// in f.data. `pending_unix`: a Unix listener's pending clients (their inodes), when not accepted.
void socket_capture(amber::Capture& c, amber_fd& f, amber_sockinfo& si, SockFacts& sf);
// For fd.cc: restorable, and if not, why (what the program finds at restart).
bool socket_restorable(const amber::Capture& c, const amber_fd& f);
const char* socket_reason(const amber::Capture& c, const amber_fd& f);
// For fd.cc, after the table: the descriptors in flight and pending connections found while
// capturing it, as hidden records (each captured like any descriptor), then our copies closed.
// capture_one captures one live descriptor into f (fd.cc's loop body).
void sockets_capture_hidden(amber::Capture& c, void (*capture_one)(amber::Capture&, int, amber_fd&));
void sockets_resumed();
// While the hidden descriptors are captured (the TCP kind leaves their linger alone).
bool capturing_hidden();
// An ICMP ("ping") socket's queued replies (fd/inet.cc): appended as messages; returns how many.
uint32_t inet_ping_capture(amber::Capture& c, int fd, const amber_sockinfo& si);
// The Unix family's sock_diag query (fd/unix.cc): peer, state, shutdown, listener's pending
// clients. Returns the number of pending client inodes stored in icons (up to cap).
uint32_t unix_diag(amber::Capture& c, uint64_t inode, SockFacts& sf, uint32_t* icons, uint32_t cap);
// The capture's NETLINK_SOCK_DIAG socket, opened at its first use (unix.cc, netlink.cc); -1 when
// it cannot be.
int diag_socket(amber::Capture& c);
// Option (level, name; len bytes at most) of fd read into o: true when it is to be saved, i.e. it
// differs from the same option of fresh, a new socket of the same kind; without one (fresh < 0),
// always, or only when it is not zero (zero_default).
bool opt_to_save(int fd, int fresh, int level, int name, uint32_t len, amber_sockopt& o, bool zero_default);
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
// One saved socket of the tree (all descriptors of one inode), rebuilt before the fork.
struct Sock {
  const Ref* first;        // its refs (one inode): every descriptor gets `fd`
  const Ref* end;
  const Ref* rec;          // the ref whose record is used
  amber_sockview v;
  fd::Kind kind;
  int fd;                  // the rebuilt socket (lifted), -1 not yet
  int feeder;              // the socket that writes into fd's receive queue (other end of a new pair)
  Sock* peer;              // the saved socket at the other end, when it is in the tree
  bool dead;               // rebuilt as a connection whose other end is gone (feeder closed after)
  bool reset;              //   ... reset (RST) rather than closed (FIN)
  bool filled;
  bool hidden;             // only in flight / pending: in no process's table
  int orig_snd, orig_rcv;  // buffer sizes before a queue was put back (set back after), 0 none
  bool broken;             // its queue did not fit the rebuilt connection: aborted after what did
};
// Every saved socket of the tree, once (built at the first socket kind's prepare).
Sock* socks(uint32_t* n);
Sock* sock_by_inode(uint64_t inode);
const amber_fd& rec_of(const Sock& s);
void warn_sock(const Sock& s, const char* what, long err, const char* then);
// A new socket like the saved one: options set, bound to its address when it was (a path's stale
// socket file removed first). -errno on failure.
long sock_make(Sock& s, bool bind);
void sock_set_opts(int fd, const amber_sockview& v, bool buffers);
void sock_give(Sock& s, int fd);  // every descriptor of s gets fd (lifted)
void sock_listen(Sock& s);       // bound again, listening (retries a port still held)
// Rebuilds the connection between a and b (b may be null: its other end is gone or outside).
void sock_connect_pair(Sock& a, Sock* b);
// The listener's pending connections, connected again (after every listener and pair exists).
void sock_pending(Sock& l);
// After every kind's prepare (fd.cc): queues refilled (descriptors in flight made first), shutdowns,
// datagram peers connected, dead ends closed, buffer sizes set back.
void sockets_fill();
// A descriptor a queued message carries, made before the fork if no kind's prepare made it
// (fd/fd.cc); -1 when it cannot be.
long restore_for_message(int img, uint32_t idx);
}  // namespace rs

namespace fd {
bool unixsk_pair(int type, int* a, int* b);
}  // namespace fd
#endif

#endif
