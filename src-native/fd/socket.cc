// Shared by the socket kinds (fd/unix.cc, fd/inet.cc): see fd/socket.h.
#include "fd/socket.h"

#ifdef AMBER_AGENT
#include <string.h>

#include "agent/capture.h"

namespace fd {
void socket_describe(int fd, amber_sockinfo& si, uint32_t* subkind) {
  int v = 0;
  uint32_t vl = sizeof v;
  if (sys::getsockopt(fd, 1 /*SOL_SOCKET*/, 39 /*SO_DOMAIN*/, &v, &vl) == 0) si.family = (uint16_t)v;
  vl = sizeof v;
  if (sys::getsockopt(fd, 1, 3 /*SO_TYPE*/, &v, &vl) == 0) si.type = v;
  vl = sizeof v;
  if (sys::getsockopt(fd, 1, 38 /*SO_PROTOCOL*/, &v, &vl) == 0) si.protocol = v;
  int listening = 0;
  vl = sizeof listening;
  sys::getsockopt(fd, 1, 30 /*SO_ACCEPTCONN*/, &listening, &vl);
  si.local_len = sizeof si.local;
  if (sys::sc3(sys::NR_getsockname, fd, (long)si.local, (long)&si.local_len) < 0) si.local_len = 0;
  si.peer_len = sizeof si.peer;
  if (sys::sc3(sys::NR_getpeername, fd, (long)si.peer, (long)&si.peer_len) < 0) si.peer_len = 0;
  bool inet = si.family == 2 /*AF_INET*/ || si.family == 10 /*AF_INET6*/;
  bool stream = si.type == 1 /*SOCK_STREAM*/;
  if (listening && (inet || si.family == 1 /*AF_UNIX*/)) *subkind = AMBER_SOCK_LISTEN;
  else if (stream && si.peer_len && (inet || si.family == 1)) *subkind = AMBER_SOCK_CONNECTED;
  int outq = 0;
  if (sys::ioctl(fd, 0x5411 /*SIOCOUTQ*/, (long)&outq) == 0 && outq > 0) si.sndq = (uint32_t)outq;
}

void socket_store(amber::Capture& c, amber_fd& f, amber_sockinfo& si) {
  char* dst = c.str.reserve(sizeof si);
  if (!dst) return;  // the capture fails: the string space is full
  long n = 0;
  if (f.subkind == AMBER_SOCK_CONNECTED) {
    // A stream socket's receive queue is bounded by its buffer (a few MiB): peek what fits; if
    // the string space cannot hold all of it, the checkpoint fails rather than drop bytes.
    uint32_t room = c.str.room() - (uint32_t)sizeof si;
    int queued = 0;
    if (sys::ioctl(f.fd, 0x541b /*FIONREAD*/, (long)&queued) == 0 && (uint32_t)queued > room) {
      c.str.full = true;
      return;
    }
    n = sys::sc6(sys::NR_recvfrom, f.fd, (long)(dst + sizeof si), room, 2 /*MSG_PEEK*/ | 0x40 /*MSG_DONTWAIT*/, 0, 0);
    if (n < 0) n = 0;
  }
  si.inflight_len = (uint32_t)n;
  memcpy(dst, &si, sizeof si);
  f.data = c.str.add(dst, sizeof si + (size_t)n);
}
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
namespace rs {

bool sockinfo_of(int img, const amber_fd& f, amber_sockinfo* si, const char** inflight) {
  const char* d;
  uint32_t len;
  if (f.kind != AMBER_FD_SOCKET || !amber_str_at(&T.img[img].v, f.data, &d, &len) || len < sizeof *si) return false;
  memcpy(si, d, sizeof *si);
  if (sizeof *si + si->inflight_len > len || si->local_len > sizeof si->local || si->peer_len > sizeof si->peer) return false;
  *inflight = d + sizeof *si;
  return true;
}

void warn_sock(const char* what, const amber_fd& f, long err) { warn_fd(what, f, err, "it becomes /dev/null"); }

uint64_t addr_hash(const uint8_t* a, uint32_t len, uint16_t family) {
  uint64_t h = 1469598103934665603ull ^ family;  // FNV-1a
  for (uint32_t i = 0; i < len; i++) h = (h ^ a[i]) * 1099511628211ull;
  return h ^ ((uint64_t)len << 56);
}

const Ref* refs_with_inode(fd::Kind k, uint64_t inode, const Ref** end) {
  const Ref* b = refs_begin(k);
  uint64_t lo = 0, hi = (uint64_t)(refs_end(k) - b);
  while (lo < hi) {
    uint64_t mid = (lo + hi) / 2;
    if (b[mid].inode < inode) lo = mid + 1;
    else hi = mid;
  }
  const Ref* e = b + lo;
  while (e != refs_end(k) && e->inode == inode) e++;
  *end = e;
  return b + lo;
}

void listen_again(fd::Kind k, const Ref* first, const Ref* end) {
  const amber_fd& f = fd_of(*first);
  amber_sockinfo si;
  const char* in;
  if (!sockinfo_of((int)first->img, f, &si, &in)) return;
  long s = sys::socket(si.family, si.type | sys::O_CLOEXEC_, si.protocol);
  if (s < 0) { warn_sock("cannot recreate a listening socket", f, s); return; }
  int one = 1;
  sys::setsockopt((int)s, 1 /*SOL_SOCKET*/, 2 /*SO_REUSEADDR*/, &one, sizeof one);
  // A Unix listener's path still exists from the run that was checkpointed.
  if (k == fd::Kind::UNIX && si.local_len > 2 && si.local[2]) sys::unlink(reinterpret_cast<const char*>(si.local + 2));
  long r = sys::sc3(sys::NR_bind, s, (long)si.local, si.local_len);
  if (r == 0) r = sys::sc2(sys::NR_listen, s, 128);
  if (r < 0) { warn_sock("cannot bind its listening address again", f, r); sys::close((int)s); return; }
  int l = (int)lift(s);
  for (const Ref* r2 = first; r2 != end; r2++)
    if (T.img[r2->img].prep[r2->idx] < 0) assign((int)r2->img, r2->idx, l);
  settle();
}

void give_pair(fd::Kind k, int a, int b, uint64_t inode_a, uint64_t inode_b) {
  for (int side = 0; side < 2; side++) {
    const Ref* end;
    const Ref* r = refs_with_inode(k, side ? inode_b : inode_a, &end);
    for (; r != end; r++)
      if (T.img[r->img].prep[r->idx] < 0) assign((int)r->img, r->idx, side ? b : a);
  }
  settle();
}

bool connect_ends(fd::Kind k, const Ref& ra, const amber_sockinfo& sa, const char* ina, const Ref& rb,
                  const amber_sockinfo& sb, const char* inb) {
  int a, b;
  bool ok = k == fd::Kind::UNIX ? fd::unixsk_pair(sa, &a, &b) : fd::inet_pair(sa, &a, &b);
  if (!ok) { warn_sock("cannot rebuild a connection", fd_of(ra), -22); return false; }
  // What each end had waiting to be read is sent again by the other end.
  if (sa.inflight_len) sys::write_all(b, ina, sa.inflight_len);
  if (sb.inflight_len) sys::write_all(a, inb, sb.inflight_len);
  give_pair(k, (int)lift(a), (int)lift(b), ra.inode, rb.inode);
  return true;
}

}  // namespace rs
#endif
