// Unix sockets (AMBER_FD_SOCKET, family AF_UNIX): stream, datagram and seqpacket; named (a path),
// abstract or unnamed; listening, connected (socketpairs too), or neither. The record and what the
// two socket kinds share: fd/socket.h.
//
// Capture: the common record (fd/socket.cc: queues with their message boundaries, senders and the
// descriptors in flight) plus what sock_diag says (UNIX_DIAG, no privilege needed): the peer's
// inode — socketpairs have no addresses and many clients of one listener have the same ones, so
// only the inode tells which two ends belong together —, the state, the shutdown bits, and a
// listener's pending clients.
//
// Restore, before the fork: a listener is bound again at its name (a stale socket file from the
// checkpointed run is removed first; only a socket file is ever removed); a connection becomes a
// new connected pair — through the rebuilt listener when one end was accepted from it (so both
// keep their names), else a socketpair — whose ends go to every descriptor of the two saved
// sockets; a datagram socket is bound at its name and, after its queue is refilled (a connected
// receiver accepts nothing from others), connected to its peer's name (a daemon's socket such as
// /dev/log included: a datagram peer needs no state of ours). A stream whose peer was closed
// reads its bytes, then end-of-file; one whose peer is outside the computation too (said at
// checkpoint by the coordinator, which sees every image). Images older than format 1.3 have no
// peer inode: ends are paired by their addresses. Connections between two separately restored
// trees are made by restart and passed in (--sockfd, fd/fd.cc).
#include "fd/socket.h"

#ifdef AMBER_AGENT
#include <fcntl.h>

#include "agent/capture.h"
#include "pid/pid.h"

namespace fd {
int diag_socket(amber::Capture& c) {
  if (c.diag_fd == 0) {
    long s = sys::socket(16 /*AF_NETLINK*/, 2 /*SOCK_DGRAM*/ | O_CLOEXEC, 4 /*NETLINK_SOCK_DIAG*/);
    c.diag_fd = s >= 0 ? (int)s : -1;
  }
  return c.diag_fd;
}

uint32_t unix_diag(amber::Capture& c, uint64_t inode, SockFacts& sf, uint32_t* icons, uint32_t cap) {
  if (diag_socket(c) < 0) return 0;
  struct {
    uint32_t nlmsg_len;
    uint16_t nlmsg_type, nlmsg_flags;
    uint32_t nlmsg_seq, nlmsg_pid;
    uint8_t family, protocol;
    uint16_t pad;
    uint32_t states, ino, show, cookie[2];
  } req = {};
  req.nlmsg_len = sizeof req;
  req.nlmsg_type = 20;  // SOCK_DIAG_BY_FAMILY
  req.nlmsg_flags = 1;  // NLM_F_REQUEST
  req.nlmsg_seq = (uint32_t)inode;
  req.family = 1;       // AF_UNIX
  req.states = ~0u;
  req.ino = (uint32_t)inode;
  req.show = 2 | 4 | 8 | 0x10;  // UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN
  req.cookie[0] = req.cookie[1] = ~0u;  // no cookie check
  if (sys::write(c.diag_fd, &req, sizeof req) != (long)sizeof req) return 0;
  // A listener's pending clients can be many (4 bytes each): the reply goes to the arena's free end.
  char* buf = c.a.base + ((c.a.used + 63) & ~size_t(63));
  size_t room = c.a.cap > (size_t)(buf - c.a.base) + 64 ? c.a.cap - (size_t)(buf - c.a.base) - 64 : 0;
  if (room > (1u << 20)) room = 1u << 20;
  long n = sys::read(c.diag_fd, buf, room);
  // nlmsghdr (16) + unix_diag_msg (16: family, type, state, pad, ino, cookie), then attributes
  // (nlattr: len, type; 4-byte aligned).
  if (n < 32 || *reinterpret_cast<uint16_t*>(buf + 4) != 20) return 0;
  uint32_t len = *reinterpret_cast<uint32_t*>(buf);
  if (len > (uint64_t)n) return 0;
  sf.state = (uint8_t)buf[16 + 2];
  uint32_t nicons = 0;
  for (uint32_t off = 32; off + 4 <= len;) {
    uint16_t alen = *reinterpret_cast<uint16_t*>(buf + off), type = *reinterpret_cast<uint16_t*>(buf + off + 2);
    if (alen < 4 || off + alen > len) break;
    const char* d = buf + off + 4;
    uint32_t dl = alen - 4u;
    if (type == 2 /*UNIX_DIAG_PEER*/ && dl >= 4) __builtin_memcpy(&sf.peer_ino, d, 4);
    else if (type == 1 /*UNIX_DIAG_VFS: ino, dev*/ && dl >= 8) __builtin_memcpy(&sf.vfs_ino, d, 4);
    else if (type == 6 /*UNIX_DIAG_SHUTDOWN*/ && dl >= 1) sf.shutdown = (uint8_t)d[0];
    else if (type == 4 /*UNIX_DIAG_RQLEN*/ && dl >= 8 && sf.state == TCP_LISTEN_) {
      __builtin_memcpy(&sf.pending, d, 4);
      __builtin_memcpy(&sf.backlog, d + 4, 4);
      if (!sf.backlog) sf.flags |= AMBER_SOCKX_BACKLOG0;
    } else if (type == 3 /*UNIX_DIAG_ICONS*/) {
      for (uint32_t k = 0; k + 4 <= dl; k += 4) {
        if (nicons < cap) __builtin_memcpy(&icons[nicons], d + k, 4);
        nicons++;
      }
    }
    off += (alen + 3u) & ~3u;
  }
  return nicons;
}

void unixsk_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  amber_sockinfo si{};
  socket_describe(f.fd, si, &f.subkind);
  SockFacts sf{};
  unix_diag(c, f.inode, sf, nullptr, 0);
  si.peer_ino = sf.peer_ino;
  // A connection whose other end was closed: no inode names it any more, and our receive side
  // was shut by its release. The restart gives it its bytes, then end-of-file.
  bool conn = si.type == SOCK_STREAM_ || si.type == SOCK_SEQPACKET_;
  if (conn && f.subkind == AMBER_SOCK_CONNECTED && !sf.peer_ino && (sf.shutdown & RCV_SHUTDOWN_)) sf.flags |= AMBER_SOCKX_PEER_GONE;
  socket_capture(c, f, si, sf);
  amber::pid::peercred_note(f.fd, f.inode);  // SO_PEERCRED after a restart (pid/peercred.cc)
}

bool unixsk_restorable(const amber::Capture& c, const amber_fd& f) { return socket_restorable(c, f); }

void unixsk_resumed() { sockets_resumed(); }
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
namespace fd {
bool unixsk_pair(int type, int* a, int* b) {
  int sv[2];
  if (sys::sc4(sys::NR_socketpair, AF_UNIX_, type | sys::O_CLOEXEC_, 0, (long)sv) < 0) return false;
  *a = (int)rs::lift(sv[0]);
  *b = (int)rs::lift(sv[1]);
  return true;
}

AMBER_FD_NO_CHECK(unixsk)

void unixsk_prepare() {
  using namespace rs;
  uint32_t n = 0;
  Sock* s = socks(&n);
  // Listeners and named sockets first: connections through a listener, and datagram peers
  // connected by name, need them.
  for (uint32_t i = 0; i < n; i++) {
    Sock& k = s[i];
    if (k.kind != Kind::UNIX || k.fd >= 0) continue;
    const amber_fd& f = rec_of(k);
    if (f.subkind == AMBER_SOCK_LISTEN) sock_listen(k);
    else if (k.v.si.type != SOCK_STREAM_ && k.v.si.type != SOCK_SEQPACKET_) {
      // Datagram: made and bound now; connected after its queue is refilled (sockets_fill).
      // Two unnamed ends connected to each other are a socketpair.
      Sock* p = k.v.si.peer_ino ? sock_by_inode(k.v.si.peer_ino) : nullptr;
      if (p && p->fd < 0 && p->kind == Kind::UNIX && p->v.si.peer_ino == (uint32_t)rec_of(k).inode &&
          k.v.si.local_len <= 2 && p->v.si.local_len <= 2) {
        int a, b;
        if (unixsk_pair(k.v.si.type, &a, &b)) {
          sock_set_opts(a, k.v, true);
          sock_set_opts(b, p->v, true);
          k.peer = p;
          p->peer = &k;
          k.feeder = b;
          p->feeder = a;
          sock_give(k, a);
          sock_give(*p, b);
          continue;
        }
      }
      long fd = sock_make(k, true);
      if (fd >= 0) sock_give(k, (int)fd);
    }
  }
  // Clients of connections still waiting in a listener's queue: that listener connects them
  // (sock_pending, below); the pending end names its client by inode.
  for (uint32_t i = 0; i < n; i++) {
    Sock& k = s[i];
    if (k.kind != Kind::UNIX || !(k.v.x.flags & AMBER_SOCKX_PENDING) || !k.v.si.peer_ino) continue;
    Sock* c = sock_by_inode(k.v.si.peer_ino);
    if (c && c != &k && c->kind == Kind::UNIX) { c->peer = &k; k.peer = c; }
  }
  // Connections (stream, seqpacket), paired by the peer inode the kernel named.
  for (uint32_t i = 0; i < n; i++) {
    Sock& k = s[i];
    if (k.kind != Kind::UNIX || k.fd >= 0 || (k.v.si.type != SOCK_STREAM_ && k.v.si.type != SOCK_SEQPACKET_)) continue;
    const amber_fd& f = rec_of(k);
    if (f.subkind != AMBER_SOCK_CONNECTED) {
      if (k.v.x.flags & AMBER_SOCKX_PENDING) continue;  // its listener connects it (sock_pending)
      long fd = sock_make(k, true);  // unconnected: made, bound if it was
      if (fd >= 0) sock_give(k, (int)fd);
      continue;
    }
    if ((k.v.x.flags & AMBER_SOCKX_PENDING) || (k.peer && (k.peer->v.x.flags & AMBER_SOCKX_PENDING))) continue;
    // Before format 1.3 there is no inode: by address, below.
    if (!k.v.si.peer_ino && !k.v.has_x) continue;
    Sock* p = k.v.si.peer_ino ? sock_by_inode(k.v.si.peer_ino) : nullptr;
    if (p && (p->kind != Kind::UNIX || p->fd >= 0 || (p->v.x.flags & AMBER_SOCKX_PENDING))) p = nullptr;
    sock_connect_pair(k, p);
  }
  // Images before format 1.3: connected ends paired by their addresses (unnamed ones are all
  // alike: only a tree holding exactly one unnamed pair is sure).
  uint32_t unnamed = 0;
  for (uint32_t i = 0; i < n; i++)
    if (s[i].kind == Kind::UNIX && s[i].fd < 0 && rec_of(s[i]).subkind == AMBER_SOCK_CONNECTED && s[i].v.si.local_len <= 2 &&
        s[i].v.si.peer_len <= 2)
      unnamed++;
  for (uint32_t i = 0; i < n; i++) {
    Sock& k = s[i];
    if (k.kind != Kind::UNIX || k.fd >= 0 || rec_of(k).subkind != AMBER_SOCK_CONNECTED || k.v.has_x) continue;
    bool anon = k.v.si.local_len <= 2 && k.v.si.peer_len <= 2;
    Sock* p = nullptr;
    for (uint32_t j = 0; j < n && !p && (!anon || unnamed == 2); j++) {
      Sock& q = s[j];
      if (&q == &k || q.kind != Kind::UNIX || q.fd >= 0 || rec_of(q).subkind != AMBER_SOCK_CONNECTED) continue;
      if (q.v.si.local_len == k.v.si.peer_len && q.v.si.peer_len == k.v.si.local_len &&
          !memcmp(q.v.si.local, k.v.si.peer, k.v.si.peer_len) && !memcmp(q.v.si.peer, k.v.si.local, k.v.si.local_len))
        p = &q;
    }
    sock_connect_pair(k, p);
  }
  for (uint32_t i = 0; i < n; i++)
    if (s[i].kind == Kind::UNIX && rec_of(s[i]).subkind == AMBER_SOCK_LISTEN) sock_pending(s[i]);
}

long unixsk_restore(rs::Proc&, uint32_t) { return -1; }  // every socket is made before the fork
AMBER_FD_NO_FINISH(unixsk)
}  // namespace fd
#endif
