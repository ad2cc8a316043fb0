// TCP/IP sockets (AMBER_FD_SOCKET, family AF_INET or AF_INET6): TCP in every state (listening with
// its pending connections, connected, half-closed and closing, bound only, unconnected), UDP,
// UDP-Lite, ICMP "ping" sockets and raw sockets. The record and what the two socket kinds share:
// fd/socket.h. IPv4-mapped IPv6 addresses are IPv4 addresses wherever two ends are compared (an
// AF_INET client of a dual-stack AF_INET6 server is one connection).
//
// Capture: the common record (fd/socket.cc) plus the TCP state (TCP_INFO: closing states, a
// listener's backlog and pending count), and what cannot be saved: a connection to a peer off
// this host, bytes in a TCP send queue (TCP_REPAIR would need CAP_NET_ADMIN). While the process
// is frozen every TCP connection is set to abort on close (SO_LINGER 0), and set back when it
// resumes: if the process is killed after the checkpoint (--kill, a Slurm requeue) its
// connections are reset rather than left in TIME_WAIT / FIN_WAIT, which would keep the restart
// from binding the same ports again for a minute. An ICMP socket's replies cannot be peeked past
// the first (no SO_PEEK_OFF): they are read, saved, and asked for again at once from loopback.
//
// Restore, before the fork (fd/socket.cc does the work): listeners bound again (options such as
// SO_REUSEADDR, SO_REUSEPORT and IPV6_V6ONLY first, a port still held by the dying process waited
// for) with their pending connections queued again; datagram sockets bound, their queues
// re-sent from their senders' addresses, then connected; a connection whose two ends are in the
// tree rebuilt through the listener one end came from (so both keep their addresses), or a
// listener of a moment at the server end's address, or a new loopback pair; one whose other end
// is gone reads its bytes and end-of-file; one whose other end is elsewhere its bytes and
// ECONNRESET (named at checkpoint). Connections between two separately restored trees: restart
// makes them (--sockfd, lib/sockets.ts).
#include "fd/socket.h"

#ifdef AMBER_AGENT
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "agent/agent.h"
#include "agent/capture.h"

namespace {
// The connections set to abort on close, with their own setting to put back. In a mapping of its
// own (grown as needed, never a fixed cap): the scratch is cleared after every image.
struct Linger { int32_t fd, onoff, secs; };
Linger* g_linger;
uint32_t g_nlinger, g_cap_linger;

void abort_on_close(int fd) {
  if (g_nlinger == g_cap_linger) {
    uint32_t cap = g_cap_linger ? g_cap_linger * 2 : 1024;
    long p = g_linger ? sys::mremap(g_linger, g_cap_linger * sizeof(Linger), cap * sizeof(Linger), MREMAP_MAYMOVE, nullptr)
                      : sys::mmap(nullptr, cap * sizeof(Linger), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p < 0) return;  // left as the application set it (a restart may then find the port busy)
    g_linger = reinterpret_cast<Linger*>(p);
    g_cap_linger = cap;
  }
  int32_t old[2] = {0, 0};
  uint32_t len = sizeof old;
  if (sys::getsockopt(fd, 1 /*SOL_SOCKET*/, 13 /*SO_LINGER*/, old, &len) < 0) return;
  int32_t now[2] = {1, 0};
  if (sys::setsockopt(fd, 1, 13, now, sizeof now) < 0) return;
  g_linger[g_nlinger++] = Linger{fd, old[0], old[1]};
}
}  // namespace

namespace fd {
// An address of this host (a socket can be bound to it): a peer there may be in the computation.
bool local_address(const Addr& a) {
  if (addr_loopback(a)) return true;
  long s = sys::socket(a.family, SOCK_DGRAM_ | O_CLOEXEC, 0);
  if (s < 0) return false;
  Addr any = a;
  any.port = 0;
  uint8_t sa[28];
  uint32_t sl = sockaddr_for(a.family, any, sa);
  long r = k_bind((int)s, sa, sl);
  sys::close((int)s);
  return r == 0;
}

void inet_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  amber_sockinfo si{};
  socket_describe(f.fd, si, &f.subkind);
  SockFacts sf{};
  bool tcp = si.type == SOCK_STREAM_;
  if (tcp) {
    uint8_t ti[232] = {};
    uint32_t tl = sizeof ti;
    if (sys::getsockopt(f.fd, IPPROTO_TCP_, 11 /*TCP_INFO*/, ti, &tl) == 0 && tl >= 144) {
      sf.state = ti[0];
      uint32_t unacked, sacked, segs_in;
      memcpy(&unacked, ti + 24, 4);
      memcpy(&sacked, ti + 28, 4);
      memcpy(&segs_in, ti + 140, 4);
      if (sf.state == TCP_LISTEN_) {
        // A listener's TCP_INFO: tcpi_unacked = its accept queue, tcpi_sacked = its backlog.
        sf.pending = unacked;
        sf.backlog = sacked;
        if (!sacked) sf.flags |= AMBER_SOCKX_BACKLOG0;
      }
      // A connection already finished (both FINs, or reset) keeps the descriptor but no peer: it
      // reads what was left, then end-of-file.
      if (sf.state == TCP_CLOSE_ && segs_in > 0 && f.subkind != AMBER_SOCK_LISTEN) sf.flags |= AMBER_SOCKX_PEER_GONE;
    }
    // The FIN we sent and the peer has not acknowledged is one byte of SIOCOUTQ, not data.
    if (si.sndq && (sf.state == TCP_FIN_WAIT1_ || sf.state == TCP_CLOSING_ || sf.state == TCP_LAST_ACK_)) si.sndq--;
    Addr peer{};
    bool loopback = f.subkind == AMBER_SOCK_CONNECTED && addr_of(si.peer, si.peer_len, &peer) && local_address(peer);
    if (f.subkind == AMBER_SOCK_CONNECTED && !loopback) sf.flags |= AMBER_SOCKX_REMOTE;
    // A checkpoint that ends the program may read every queue to the end (the program will not
    // read it again): then what the peer's send queue held is read into ours, and the bytes our
    // own send queue holds are in the peer's image if it is in the computation. Not only a
    // loopback peer: one on another node may be in the computation too (srun amber job; its
    // kernel sends its queue as we read, as loopback does), and only the coordinator, which sees
    // every image, knows. A peer outside it gives what it sent within the drain's bound.
    sf.drain = amber::g.ending && f.subkind == AMBER_SOCK_CONNECTED && !capturing_hidden();
    sf.drain_quick = !loopback;
    if (si.sndq && f.subkind == AMBER_SOCK_CONNECTED) sf.flags |= sf.drain ? AMBER_SOCKX_SNDQ : AMBER_SOCKX_SNDQ_LOST;
  }
  // Options are read (socket_capture) before the linger is changed for the checkpoint.
  socket_capture(c, f, si, sf);
  if (tcp && f.subkind == AMBER_SOCK_CONNECTED && !capturing_hidden()) abort_on_close(f.fd);
}

// A ping socket's replies: read (they cannot be peeked past the first), saved as messages, and
// asked for again from the same socket at once, so the program finds them as they were.
uint32_t inet_ping_capture(amber::Capture& c, int fd, const amber_sockinfo& si) {
  uint32_t n = 0, first = c.str.len;
  for (;;) {
    amber_sockmsg h{};
    uint32_t at = c.str.append(&h, sizeof h);
    uint8_t name[AMBER_SOCK_ADDR_MAX];
    char* dst = c.str.ensure(65536);
    if (!dst) break;
    kiovec iov{dst, 65536};
    kmsghdr m{};
    m.name = name;
    m.namelen = sizeof name;
    m.iov = &iov;
    m.iovlen = 1;
    long r = k_recvmsg(fd, &m, MSG_DONTWAIT_);
    if (r < 0) { c.str.len = at; break; }
    uint32_t nl = m.namelen < sizeof name ? m.namelen : (uint32_t)sizeof name;
    // [header][name][data]: the data moves after the name.
    memmove(dst + nl, dst, (size_t)r);
    memcpy(dst, name, nl);
    h.len = (uint32_t)r;
    h.addr_len = nl;
    memcpy(c.str.buf + at, &h, sizeof h);
    c.str.len += nl + (uint32_t)r;
    n++;
  }
  // Asked for again, in order: loopback answers before sendto returns. A reply from another
  // host cannot be (we do not send to the network): it is gone from the live program too, said
  // at checkpoint.
  uint32_t off = first;
  for (uint32_t k = 0; k < n; k++) {
    amber_sockmsg h;
    memcpy(&h, c.str.buf + off, sizeof h);
    const uint8_t* addr = reinterpret_cast<const uint8_t*>(c.str.buf + off + sizeof h);
    char* data = c.str.buf + off + sizeof h + h.addr_len;
    Addr from{};
    if (h.len >= 8 && addr_of(addr, h.addr_len, &from) && addr_loopback(from)) {
      char req[65536];
      memcpy(req, data, h.len);
      req[0] = si.protocol == IPPROTO_ICMP_ ? 8 : (char)128;  // echo request
      req[2] = req[3] = 0;
      k_sendto(fd, req, h.len, MSG_DONTWAIT_, addr, h.addr_len);
      k_wait(fd, 1, 200);
    }
    off += (uint32_t)sizeof h + h.addr_len + h.len;
  }
  return n;
}

bool inet_restorable(const amber::Capture& c, const amber_fd& f) { return socket_restorable(c, f); }

// The process goes on after a checkpoint: its TCP connections close as the application set them.
void inet_resumed() {
  for (uint32_t i = 0; i < g_nlinger; i++) {
    int32_t v[2] = {g_linger[i].onoff, g_linger[i].secs};
    sys::setsockopt(g_linger[i].fd, 1 /*SOL_SOCKET*/, 13 /*SO_LINGER*/, v, sizeof v);
  }
  g_nlinger = 0;
}
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
namespace fd {
AMBER_FD_NO_CHECK(inet)

void inet_prepare() {
  using namespace rs;
  uint32_t n = 0;
  Sock* s = socks(&n);
  // Listeners first (connections go through them), then datagram sockets, then connections.
  for (uint32_t i = 0; i < n; i++)
    if (s[i].kind == Kind::INET && s[i].fd < 0 && rec_of(s[i]).subkind == AMBER_SOCK_LISTEN) sock_listen(s[i]);
  for (uint32_t i = 0; i < n; i++) {
    Sock& k = s[i];
    if (k.kind != Kind::INET || k.fd >= 0 || k.v.si.type == SOCK_STREAM_) continue;
    long fd = sock_make(k, true);
    if (fd >= 0) sock_give(k, (int)fd);
  }
  // Clients of connections still waiting in a listener's queue: that listener connects them.
  auto client_of_pending = [&](const Sock& k) {
    Addr kl{}, kp{};
    if (!addr_of(k.v.si.local, k.v.si.local_len, &kl) || !addr_of(k.v.si.peer, k.v.si.peer_len, &kp)) return false;
    for (uint32_t j = 0; j < n; j++) {
      const Sock& p = s[j];
      Addr pl{}, pp{};
      if (p.kind == Kind::INET && (p.v.x.flags & AMBER_SOCKX_PENDING) && addr_of(p.v.si.local, p.v.si.local_len, &pl) &&
          addr_of(p.v.si.peer, p.v.si.peer_len, &pp) && addr_eq(pl, kp) && addr_eq(pp, kl))
        return true;
    }
    return false;
  };
  for (uint32_t i = 0; i < n; i++) {
    Sock& k = s[i];
    if (k.kind != Kind::INET || k.fd >= 0 || k.v.si.type != SOCK_STREAM_ || (k.v.x.flags & AMBER_SOCKX_PENDING)) continue;
    const amber_fd& f = rec_of(k);
    if (f.subkind != AMBER_SOCK_CONNECTED) {
      if (k.v.x.flags & AMBER_SOCKX_PEER_GONE) { sock_connect_pair(k, nullptr); continue; }  // finished
      long fd = sock_make(k, true);  // unconnected: made, bound if it was
      if (fd >= 0) sock_give(k, (int)fd);
      continue;
    }
    if (client_of_pending(k)) continue;
    // Its other end: the socket whose local address is our peer's and whose peer is us.
    Addr kl{}, kp{};
    Sock* p = nullptr;
    if (addr_of(k.v.si.local, k.v.si.local_len, &kl) && addr_of(k.v.si.peer, k.v.si.peer_len, &kp)) {
      for (uint32_t j = 0; j < n && !p; j++) {
        Sock& q = s[j];
        Addr ql{}, qp{};
        if (&q != &k && q.kind == Kind::INET && q.fd < 0 && q.v.si.type == SOCK_STREAM_ && rec_of(q).subkind == AMBER_SOCK_CONNECTED &&
            !(q.v.x.flags & AMBER_SOCKX_PENDING) && addr_of(q.v.si.local, q.v.si.local_len, &ql) &&
            addr_of(q.v.si.peer, q.v.si.peer_len, &qp) && addr_eq(ql, kp) && addr_eq(qp, kl))
          p = &q;
      }
    }
    sock_connect_pair(k, p);
  }
  for (uint32_t i = 0; i < n; i++)
    if (s[i].kind == Kind::INET && rec_of(s[i]).subkind == AMBER_SOCK_LISTEN) sock_pending(s[i]);
}

long inet_restore(rs::Proc&, uint32_t) { return -1; }  // every socket is made before the fork
AMBER_FD_NO_FINISH(inet)
}  // namespace fd
#endif
