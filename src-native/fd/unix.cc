// Unix sockets (AMBER_FD_SOCKET, family AF_UNIX; data = amber_sockinfo + the bytes waiting in the
// receive queue). Stream sockets only: listening ones, and connected ones whose other end is in
// the computation; anything else (datagram sockets, a connection to a daemon outside) is named at
// checkpoint and becomes /dev/null at restart.
//
// Capture: the record (fd/socket.cc) plus, for a connection, the peer's inode from sock_diag
// (UNIX_DIAG_PEER; no privilege needed): socketpairs have no addresses, and many clients of one
// listener have the same ones, so only the inode tells which two ends belong together.
//
// Restore, before the fork: a listener is bound again at its path (the old socket file is
// removed first); a connection becomes a new socketpair whose ends go to every descriptor of the
// two saved sockets (dup'ed, inherited), each end's waiting bytes written by the other end.
// Images older than format 1.3 have no peer inode: ends are paired by their addresses, and
// unnamed ones only when the tree has exactly two. Connections between two separately restored
// trees are made by restart and passed in (--sockfd, fd/fd.cc).
#include "fd/socket.h"

#ifdef AMBER_AGENT
#include <fcntl.h>

#include "agent/capture.h"

namespace {
uint32_t unix_peer_inode(amber::Capture& c, uint64_t inode) {
  if (c.diag_fd == 0) {
    long s = sys::socket(16 /*AF_NETLINK*/, 2 /*SOCK_DGRAM*/ | O_CLOEXEC, 4 /*NETLINK_SOCK_DIAG*/);
    c.diag_fd = s >= 0 ? (int)s : -1;
  }
  if (c.diag_fd < 0) return 0;
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
  req.show = 4;         // UDIAG_SHOW_PEER
  req.cookie[0] = req.cookie[1] = ~0u;  // no cookie check
  if (sys::write(c.diag_fd, &req, sizeof req) != (long)sizeof req) return 0;
  alignas(8) char buf[1024];
  long n = sys::read(c.diag_fd, buf, sizeof buf);
  // nlmsghdr (16) + unix_diag_msg (16), then attributes (nlattr: len, type; 4-byte aligned).
  if (n < 32 || *reinterpret_cast<uint16_t*>(buf + 4) != 20) return 0;
  uint32_t len = *reinterpret_cast<uint32_t*>(buf);
  if (len > (uint64_t)n) return 0;
  for (uint32_t off = 32; off + 4 <= len;) {
    uint16_t alen = *reinterpret_cast<uint16_t*>(buf + off), type = *reinterpret_cast<uint16_t*>(buf + off + 2);
    if (alen < 4 || off + alen > len) break;
    if (type == 2 /*UNIX_DIAG_PEER*/ && alen >= 8) return *reinterpret_cast<uint32_t*>(buf + off + 4);
    off += (alen + 3u) & ~3u;
  }
  return 0;
}
}  // namespace

namespace fd {
void unixsk_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  amber_sockinfo si{};
  socket_describe(f.fd, si, &f.subkind);
  if (f.subkind == AMBER_SOCK_CONNECTED) si.peer_ino = unix_peer_inode(c, f.inode);
  socket_store(c, f, si);
}
bool unixsk_restorable(const amber::Capture&, const amber_fd& f) {
  return f.subkind == AMBER_SOCK_LISTEN || (f.subkind == AMBER_SOCK_CONNECTED && f.data.len >= sizeof(amber_sockinfo));
}
AMBER_FD_NO_RESUMED(unixsk)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
namespace fd {
bool unixsk_pair(const amber_sockinfo& si, int* a, int* b) {
  int sv[2];
  if (sys::sc4(sys::NR_socketpair, 1 /*AF_UNIX*/, si.type | sys::O_CLOEXEC_, 0, (long)sv) < 0) return false;
  *a = sv[0];
  *b = sv[1];
  return true;
}

AMBER_FD_NO_CHECK(unixsk)

void unixsk_prepare() {
  using namespace rs;
  const Kind K = Kind::UNIX;
  auto unnamed = [](const amber_sockinfo& si) { return si.local_len <= 2 && si.peer_len <= 2 && !si.peer_ino; };
  uint32_t nunnamed = 0;
  for (const Ref* r = refs_begin(K); r != refs_end(K); r++) {
    amber_sockinfo si;
    const char* in;
    const amber_fd& f = fd_of(*r);
    if (f.subkind == AMBER_SOCK_CONNECTED && sockinfo_of((int)r->img, f, &si, &in) && unnamed(si)) nunnamed++;
  }
  for (const Ref* r = refs_begin(K); r != refs_end(K);) {
    const Ref* end = r;
    while (end != refs_end(K) && end->inode == r->inode) end++;
    const amber_fd& f = fd_of(*r);
    amber_sockinfo si;
    const char* in;
    if (T.img[r->img].prep[r->idx] < 0 && sockinfo_of((int)r->img, f, &si, &in)) {
      if (f.subkind == AMBER_SOCK_LISTEN) {
        listen_again(K, r, end);
      } else if (f.subkind == AMBER_SOCK_CONNECTED && si.peer_ino) {
        // The peer the kernel named: the first of its descriptors that carries a record.
        const Ref* pend;
        const Ref* p = refs_with_inode(K, si.peer_ino, &pend);
        amber_sockinfo s2;
        const char* in2 = nullptr;
        for (; p != pend; p++)
          if (p->inode != r->inode && sockinfo_of((int)p->img, fd_of(*p), &s2, &in2)) break;
        if (p != pend) connect_ends(K, *r, si, in, *p, s2, in2);
        else warn_sock("its other end is not part of the computation", f, -107 /*ENOTCONN*/);
      }
    }
    r = end;
  }
  // Images before format 1.3: by address (unnamed ones are all alike: only a single pair is sure).
  pair_by_address(K, [&](const amber_fd& f, const amber_sockinfo& si) {
    if (si.peer_ino) return false;
    if (unnamed(si) && nunnamed != 2) {
      warn_sock("an unnamed Unix socket cannot be told from the others", f, -22);
      return false;
    }
    return true;
  });
}

long unixsk_restore(rs::Proc&, uint32_t) { return -1; }  // not rebuilt before the fork: /dev/null
AMBER_FD_NO_FINISH(unixsk)
}  // namespace fd
#endif
