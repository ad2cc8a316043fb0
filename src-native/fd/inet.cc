// TCP/IP sockets (AMBER_FD_SOCKET, family AF_INET or AF_INET6; data = amber_sockinfo + the bytes
// waiting in the receive queue). Listening sockets, and connections over loopback whose other end
// is in the computation; anything else (a connection to another host) is named at checkpoint and
// becomes /dev/null at restart.
//
// Capture: the record (fd/socket.cc). While the process is frozen every TCP connection is set to
// abort on close (SO_LINGER 0), and set back when it resumes: if the process is killed after the
// checkpoint (--kill, a Slurm requeue) its connections are reset rather than left in TIME_WAIT /
// FIN_WAIT, which would keep the restart from binding the same listening port again for a minute
// (a TIME_WAIT socket blocks a bind unless both had SO_REUSEADDR, and most applications' accepted
// sockets do not).
//
// Restore, before the fork: a listener is bound again (SO_REUSEADDR); the two ends of a
// connection, paired by their addresses (one's local address is the other's peer), become a new
// TCP connection over loopback (the addresses differ from the saved ones, the byte streams do not),
// each end going to every descriptor of its saved socket, each end's waiting bytes written by the
// other end. Connections between two separately restored trees: restart makes them (--sockfd).
#include "fd/socket.h"

#ifdef AMBER_AGENT
#include <sys/mman.h>

#include "agent/capture.h"

namespace {
// The connections set to abort on close, with their own setting to put back. In a mapping of its
// own (grown as needed, never a fixed cap); it is part of the image, so a restored process puts
// the application's settings back on the rebuilt connections too.
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
void inet_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  amber_sockinfo si{};
  socket_describe(f.fd, si, &f.subkind);
  if (si.type == 1 /*SOCK_STREAM*/ && f.subkind == AMBER_SOCK_CONNECTED) abort_on_close(f.fd);
  socket_store(c, f, si);
}

// A listener, or a connection to a loopback peer (which may be another process of the
// computation: the restorer pairs them up; an unpaired one gets /dev/null like any other).
bool inet_restorable(const amber::Capture& c, const amber_fd& f) {
  if (f.subkind == AMBER_SOCK_LISTEN) return true;
  if (f.subkind != AMBER_SOCK_CONNECTED || f.data.len < sizeof(amber_sockinfo)) return false;
  const amber_sockinfo* si = reinterpret_cast<const amber_sockinfo*>(c.str.buf + f.data.off);
  if (si->family == 2) return si->peer[4] == 127;  // sockaddr_in: port at 2, address at 4
  static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return !__builtin_memcmp(si->peer + 8, one, 16);  // sockaddr_in6: address at 8; ::1
}

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
bool inet_pair(const amber_sockinfo& si, int* a, int* b) {
  uint8_t addr[28] = {};
  uint32_t alen;
  if (si.family == 2) { addr[0] = 2; addr[4] = 127; addr[7] = 1; alen = 16; }
  else { addr[0] = 10; addr[23] = 1; alen = 28; }
  long l = sys::socket(si.family, 1 /*SOCK_STREAM*/ | sys::O_CLOEXEC_, 0);
  if (l < 0) return false;
  bool ok = sys::sc3(sys::NR_bind, l, (long)addr, alen) == 0 && sys::sc2(sys::NR_listen, l, 1) == 0 &&
            sys::sc3(sys::NR_getsockname, l, (long)addr, (long)&alen) == 0;
  long c = ok ? sys::socket(si.family, 1 | sys::O_CLOEXEC_, 0) : -1;
  ok = ok && c >= 0 && sys::connect((int)c, addr, (int)alen) == 0;
  long s = ok ? sys::sc4(sys::NR_accept4, l, 0, 0, sys::O_CLOEXEC_) : -1;
  sys::close((int)l);
  if (!ok || s < 0) { if (c >= 0) sys::close((int)c); return false; }
  *a = (int)c;
  *b = (int)s;
  return true;
}

AMBER_FD_NO_CHECK(inet)

void inet_prepare() {
  using namespace rs;
  for (const Ref* r = refs_begin(Kind::INET); r != refs_end(Kind::INET);) {
    const Ref* end = r;
    while (end != refs_end(Kind::INET) && end->inode == r->inode) end++;
    if (fd_of(*r).subkind == AMBER_SOCK_LISTEN && T.img[r->img].prep[r->idx] < 0) listen_again(Kind::INET, r, end);
    r = end;
  }
  pair_by_address(Kind::INET, [](const amber_fd&, const amber_sockinfo&) { return true; });
}

long inet_restore(rs::Proc&, uint32_t) { return -1; }  // not rebuilt before the fork: /dev/null
AMBER_FD_NO_FINISH(inet)
}  // namespace fd
#endif
