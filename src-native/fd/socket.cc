// Shared by the socket kinds (fd/unix.cc, fd/inet.cc): see fd/socket.h for the whole story.
#include "fd/socket.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/capture.h"

namespace fd {
namespace {

// ---- options -----------------------------------------------------------------------------------
// Every option a program may have set that a restart must set again, as (level, name, bytes). One
// that cannot be read on this socket (another protocol's) is skipped; one that reads as a new
// socket of the same family, type and protocol reads is not stored.
struct OptDef { int16_t level, name; uint8_t len; };
constexpr OptDef kOpts[] = {
    // SOL_SOCKET
    {1, 2, 4},    // SO_REUSEADDR
    {1, 15, 4},   // SO_REUSEPORT
    {1, 9, 4},    // SO_KEEPALIVE
    {1, 6, 4},    // SO_BROADCAST
    {1, 5, 4},    // SO_DONTROUTE
    {1, 7, 4},    // SO_SNDBUF
    {1, 8, 4},    // SO_RCVBUF
    {1, 10, 4},   // SO_OOBINLINE
    {1, 13, 8},   // SO_LINGER
    {1, 16, 4},   // SO_PASSCRED
    {1, 34, 4},   // SO_PASSSEC
    {1, 18, 4},   // SO_RCVLOWAT
    {1, 20, 16},  // SO_RCVTIMEO (struct timeval)
    {1, 21, 16},  // SO_SNDTIMEO
    {1, 29, 4},   // SO_TIMESTAMP
    {1, 35, 4},   // SO_TIMESTAMPNS
    {1, 37, 4},   // SO_TIMESTAMPING (flags)
    {1, 36, 4},   // SO_MARK
    {1, 40, 4},   // SO_RXQ_OVFL
    {1, 46, 4},   // SO_BUSY_POLL
    {1, 60, 4},   // SO_ZEROCOPY
    {1, 25, 16},  // SO_BINDTODEVICE (interface name)
    // IPPROTO_TCP
    {6, 1, 4},    // TCP_NODELAY
    {6, 3, 4},    // TCP_CORK
    {6, 4, 4},    // TCP_KEEPIDLE
    {6, 5, 4},    // TCP_KEEPINTVL
    {6, 6, 4},    // TCP_KEEPCNT
    {6, 7, 4},    // TCP_SYNCNT
    {6, 8, 4},    // TCP_LINGER2
    {6, 9, 4},    // TCP_DEFER_ACCEPT
    {6, 13, 16},  // TCP_CONGESTION (name)
    {6, 16, 4},   // TCP_THIN_LINEAR_TIMEOUTS
    {6, 18, 4},   // TCP_USER_TIMEOUT
    {6, 23, 4},   // TCP_FASTOPEN
    {6, 25, 4},   // TCP_NOTSENT_LOWAT
    {6, 30, 4},   // TCP_FASTOPEN_CONNECT
    {6, 34, 4},   // TCP_FASTOPEN_NO_COOKIE
    // IPPROTO_IP
    {0, 1, 4},    // IP_TOS
    {0, 2, 4},    // IP_TTL
    {0, 6, 4},    // IP_RECVOPTS
    {0, 8, 4},    // IP_PKTINFO
    {0, 10, 4},   // IP_MTU_DISCOVER
    {0, 11, 4},   // IP_RECVERR
    {0, 12, 4},   // IP_RECVTTL
    {0, 13, 4},   // IP_RECVTOS
    {0, 15, 4},   // IP_FREEBIND
    {0, 19, 4},   // IP_TRANSPARENT
    {0, 20, 4},   // IP_RECVORIGDSTADDR
    {0, 24, 4},   // IP_BIND_ADDRESS_NO_PORT
    {0, 32, 4},   // IP_MULTICAST_IF (the interface's address; one chosen by index reads 0)
    {0, 33, 4},   // IP_MULTICAST_TTL
    {0, 34, 4},   // IP_MULTICAST_LOOP
    {0, 49, 4},   // IP_MULTICAST_ALL
    // IPPROTO_IPV6
    {41, 26, 4},  // IPV6_V6ONLY
    {41, 16, 4},  // IPV6_UNICAST_HOPS
    {41, 17, 4},  // IPV6_MULTICAST_IF (interface index)
    {41, 18, 4},  // IPV6_MULTICAST_HOPS
    {41, 19, 4},  // IPV6_MULTICAST_LOOP
    {41, 23, 4},  // IPV6_MTU_DISCOVER
    {41, 25, 4},  // IPV6_RECVERR
    {41, 49, 4},  // IPV6_RECVPKTINFO
    {41, 51, 4},  // IPV6_RECVHOPLIMIT
    {41, 60, 4},  // IPV6_RECVPATHMTU
    {41, 62, 4},  // IPV6_DONTFRAG
    {41, 66, 4},  // IPV6_RECVTCLASS
    {41, 67, 4},  // IPV6_TCLASS
    {41, 70, 4},  // IPV6_AUTOFLOWLABEL
    {41, 78, 4},  // IPV6_FREEBIND
    // IPPROTO_UDP
    {17, 1, 4},   // UDP_CORK
    {17, 103, 4}, // UDP_SEGMENT
    {17, 104, 4}, // UDP_GRO
    // IPPROTO_UDPLITE (SOL_UDPLITE)
    {136, 1, 4},  // UDP_CORK
    {136, 10, 4}, // UDPLITE_SEND_CSCOV
    {136, 11, 4}, // UDPLITE_RECV_CSCOV
    // Last: setting IP_TOS (or IPV6_TCLASS) sets the priority from it.
    {1, 12, 4},   // SO_PRIORITY
    // After the filter (sock_set_opts attaches it, then locks): a locked filter cannot be set.
    {1, 44, 4},   // SO_LOCK_FILTER
};

// New sockets of the kinds met in this capture, to compare options with (closed at the end).
struct Fresh { int family, type, protocol, fd; };
Fresh g_fresh[16];
uint32_t g_nfresh;

int fresh_socket(const amber_sockinfo& si) {
  int type = si.type & 0xf;
  for (uint32_t i = 0; i < g_nfresh; i++)
    if (g_fresh[i].family == si.family && g_fresh[i].type == type && g_fresh[i].protocol == si.protocol) return g_fresh[i].fd;
  long s = sys::socket(si.family, type | O_CLOEXEC, si.family == AF_UNIX_ ? 0 : si.protocol);
  if (g_nfresh < sizeof g_fresh / sizeof g_fresh[0]) g_fresh[g_nfresh++] = Fresh{si.family, type, si.protocol, s >= 0 ? (int)s : -1};
  return s >= 0 ? (int)s : -1;
}

// ---- descriptors found while capturing (in flight, pending) ------------------------------------
struct Hid {
  int fd;           // our copy (installed by the peek, or accepted)
  uint32_t patch;   // offset in the string space of the uint32 that gets its record index
  bool pending;     // a connection taken from a listener's accept queue
};
Hid* g_hid;
uint32_t g_nhid, g_caphid;
bool g_in_hidden;   // capturing the hidden descriptors (not the table's)
// Pending connections accepted for a checkpoint that ends the computation: kept open until then
// (closing them would show the clients, maybe still to be captured, a closed connection). In a
// mapping of its own: the scratch is cleared after every image.
int* g_held;
uint32_t g_nheld, g_capheld;
long g_held_pid;  // the process that holds them (a restored process has another: it holds none)
uint32_t g_took;  // queues read to the end for a checkpoint that ends the program

bool hold(int fd) {
  if (g_nheld == g_capheld) {
    uint32_t cap = g_capheld ? g_capheld * 2 : 256;
    long p = g_held ? sys::mremap(g_held, g_capheld * sizeof(int), cap * sizeof(int), 1 /*MREMAP_MAYMOVE*/, nullptr)
                    : sys::mmap(nullptr, cap * sizeof(int), 3 /*RW*/, 0x22 /*MAP_PRIVATE|MAP_ANONYMOUS*/, -1, 0);
    if (p < 0) return false;
    g_held = reinterpret_cast<int*>(p);
    g_capheld = cap;
  }
  g_held[g_nheld++] = fd;
  g_held_pid = sys::getpid();
  return true;
}

template <typename E>
bool grow(amber::Capture& c, E*& a, uint32_t n, uint32_t& cap) {
  if (n < cap) return true;
  uint32_t ncap = cap ? cap * 2 : 64;
  E* b = static_cast<E*>(c.a.take(sizeof(E) * ncap));
  if (!b) { c.fail(-ENOMEM, "scratch exhausted: too many descriptors in flight"); return false; }
  if (a) memcpy(b, a, sizeof(E) * n);
  a = b;
  cap = ncap;
  return true;
}

// Appends a placeholder for the record index of our copy `fd` (patched by sockets_capture_hidden).
void add_hidden(amber::Capture& c, int fd, bool pending = false) {
  uint32_t ph = 0xffffffffu;
  uint32_t at = c.str.append(&ph, sizeof ph);
  if (c.str.full || !grow(c, g_hid, g_nhid, g_caphid)) { sys::close(fd); return; }
  g_hid[g_nhid++] = Hid{fd, at, pending};
}

// The descriptors an SCM_RIGHTS control message carries; credentials when present.
struct Cmsg { int fds[253]; uint32_t nfds; bool creds; int32_t pid, uid, gid; bool trunc; };
void parse_cmsgs(const char* ctl, uint64_t len, int msg_flags, Cmsg& out) {
  out.nfds = 0;
  out.creds = false;
  out.trunc = (msg_flags & MSG_CTRUNC_) != 0;
  for (uint64_t off = 0; off + sizeof(kcmsghdr) <= len;) {
    kcmsghdr h;
    memcpy(&h, ctl + off, sizeof h);
    if (h.len < sizeof h || off + h.len > len) break;
    uint64_t dl = h.len - sizeof h;
    const char* d = ctl + off + sizeof h;
    if (h.level == SOL_SOCKET_ && h.type == SCM_RIGHTS_) {
      for (uint64_t k = 0; k + 4 <= dl && out.nfds < 253; k += 4) memcpy(&out.fds[out.nfds++], d + k, 4);
    } else if (h.level == SOL_SOCKET_ && h.type == SCM_CREDENTIALS_ && dl >= 12) {
      out.creds = true;
      memcpy(&out.pid, d, 4);
      memcpy(&out.uid, d + 4, 4);
      memcpy(&out.gid, d + 8, 4);
    }
    off += cmsg_align(h.len);
  }
}

constexpr uint64_t kCtl = 1536;  // room for 253 descriptors and credentials

// One peek at the queue at the current peek offset into buf (n bytes).
long peek(int fd, char* buf, uint64_t n, char* name, uint32_t* namelen, char* ctl, uint64_t* ctllen, int* mflags, int extra) {
  kiovec iov{buf, n};
  kmsghdr m{};
  m.name = name;
  m.namelen = name ? *namelen : 0;
  m.iov = &iov;
  m.iovlen = 1;
  m.control = ctl;
  m.controllen = *ctllen;
  long r = k_recvmsg(fd, &m, MSG_PEEK_ | MSG_DONTWAIT_ | MSG_CMSG_CLOEXEC_ | extra);
  if (name) *namelen = m.namelen;
  *ctllen = r >= 0 ? m.controllen : 0;
  *mflags = m.flags;
  return r;
}

// A run of a stream's queued bytes: `len` bytes sent as one write, carrying `nfds` descriptors
// (hidden entries [hid, hid + nfds)).
struct Seg { uint32_t len, nfds, hid; };

void close_fds(const Cmsg& m) {
  for (uint32_t k = 0; k < m.nfds; k++) sys::close(m.fds[k]);
}

// The processes holding one socket capture it at the same moment, and its queue is one: a peek
// moves the socket's one peek offset (SO_PEEK_OFF), which each capture sets to 0 and back; when a
// checkpoint ends the program each holder takes from it — a listener's waiting connections, with
// the shared description switched to O_NONBLOCK (accept4 has no per-call flag), a loopback
// connection's queue read to the end, the peer's send queue flowing in, a datagram socket's
// messages. They take turns: otherwise one peek restarts or ends another's (the offset set back
// to "none" under a peeking loop: the same message forever, a checkpoint that never ends), one
// holder restores the blocking flag while another still accepts (an accept on an empty queue
// that never returns) or saves the flag another set as the program's, and two readers each save
// a part of one queue (the restart uses one record: the other part is lost). Taking: the first
// to have its turn takes everything, the others find the queue empty.
// The turn is a POSIX lock on one byte at 2^62 of the socket itself: owned by the process, where
// an OFD lock or flock through the one description all of them share would not exclude the
// others; the locks of sockets are not captured (fd/lock.cc takes files'). Bounded: a lock of
// the program's own on that byte is waited for 5 s, then we go on without a turn (false).
bool socket_turn(int fd, bool take) {
  struct { short type, whence; long start, len; int pid, pad; } lk{(short)(take ? 1 /*F_WRLCK*/ : 2 /*F_UNLCK*/), 0, 1l << 62, 1, 0, 0};
  for (int i = 0; i < 5000; i++) {
    long r = sys::fcntl(fd, 6 /*F_SETLK*/, (long)&lk);
    if (r == 0) return true;
    if (!take || (r != -EAGAIN && r != -13 /*EACCES*/ && r != -4 /*EINTR*/)) return false;
    sys::ktimespec ms{0, 1000000};
    sys::nanosleep(&ms, nullptr);
  }
  return false;
}

// A stream's queue (Unix, TCP): every byte waiting, peeked into the string space, with the runs
// that carried descriptors marked (a peek stops at the end of the write that carried them).
// TCP urgent data found while taking a queue: the mark's offset in the taken bytes (-1 none) and
// the urgent byte when it is still to be read with MSG_OOB (-1 none, or inline in the bytes).
struct Urg { int64_t mark; int byte; };

bool inline_urg_of(int fd) { return get_int(fd, SOL_SOCKET_, 10 /*SO_OOBINLINE*/, 0) == 1; }

bool at_mark(int fd) {
  int m = 0;
  return sys::ioctl(fd, 0x8905 /*SIOCATMARK*/, (long)&m) == 0 && m;
}

// Whether socket fd is a member of group (4 or 16 bytes) on interface ifindex; *filtered when
// its membership has source filters (not kept).
bool mcast_member(int fd, int level, uint16_t family, uint32_t ifindex, const uint8_t* group, bool* filtered) {
  // struct group_filter: interface, (pad), sockaddr_storage group, fmode, numsrc, then sources.
  uint8_t gf[144 + 128] = {};
  memcpy(gf, &ifindex, 4);
  if (family == AF_INET_) {
    uint16_t fam = AF_INET_;
    memcpy(gf + 8, &fam, 2);
    memcpy(gf + 8 + 4, group, 4);
  } else {
    uint16_t fam = AF_INET6_;
    memcpy(gf + 8, &fam, 2);
    memcpy(gf + 8 + 8, group, 16);
  }
  uint32_t len = sizeof gf;
  if (sys::getsockopt(fd, level, 48 /*MCAST_MSFILTER*/, gf, &len) < 0) return false;
  uint32_t fmode, numsrc;
  memcpy(&fmode, gf + 136, 4);
  memcpy(&numsrc, gf + 140, 4);
  *filtered = fmode != 0 /*MCAST_EXCLUDE*/ || numsrc != 0;
  return true;
}

uint32_t hexval(const char* p, uint32_t n) {
  uint32_t v = 0;
  for (uint32_t i = 0; i < n; i++) {
    char ch = p[i];
    v = v << 4 | (uint32_t)(ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : 0);
  }
  return v;
}

bool is_hex(const char* p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F'))) return false;
  return true;
}

// The socket's memberships, appended as options; how many.
uint32_t capture_memberships(amber::Capture& c, amber_fd& f, uint16_t family) {
  uint32_t n = 0;
  bool filtered_any = false;
  for (int v6 = 0; v6 < 2; v6++) {
    if (v6 && family != AF_INET6_) break;
    size_t len = 0;
    char* t = c.read_all(v6 ? "/proc/net/igmp6" : "/proc/net/igmp", &len);
    if (!t) continue;
    uint32_t ifindex = 0;
    for (const char* p = t; *p;) {
      const char* e = p;
      while (*e && *e != '\n') e++;
      uint8_t group[16];
      bool have = false;
      if (!v6) {
        // "1\tlo        :     2      V3" starts an interface; "\t\t\t\tEF010203     1 ..." a group.
        if (*p >= '0' && *p <= '9') {
          const char* q = p;
          ifindex = (uint32_t)sys::parse_u(&q, 10);
        } else {
          const char* q = p;
          while (q < e && (*q == '\t' || *q == ' ')) q++;
          if (e - q >= 8 && is_hex(q, 8)) {
            uint32_t g = hexval(q, 8);  // the __be32 as the kernel printed it (%08X of its value)
            memcpy(group, &g, 4);
            have = true;
          }
        }
      } else {
        // "1    lo              ff020000000000000000000000000001     1 0000000C 0"
        const char* q = p;
        ifindex = (uint32_t)sys::parse_u(&q, 10);
        while (q < e && *q == ' ') q++;
        while (q < e && *q != ' ') q++;  // the device name
        while (q < e && *q == ' ') q++;
        if (e - q >= 32 && is_hex(q, 32)) {
          for (int k = 0; k < 16; k++) group[k] = (uint8_t)hexval(q + 2 * k, 2);
          have = true;
        }
      }
      bool filtered = false;
      if (have && ifindex && mcast_member(f.fd, v6 ? IPPROTO_IPV6_ : 0 /*IPPROTO_IP*/, v6 ? AF_INET6_ : AF_INET_, ifindex, group, &filtered)) {
        amber_sockopt o{};
        o.level = v6 ? IPPROTO_IPV6_ : 0;
        o.name = kMcastJoinGroup;
        o.len = v6 ? 16 : 4;
        o.pad = ifindex;
        memcpy(o.val, group, o.len);
        c.str.append(&o, sizeof o);
        n++;
        filtered_any |= filtered;
      }
      p = *e ? e + 1 : e;
    }
  }
  if (filtered_any) c.limit(f, "joined a multicast group with source filters: it is joined again without them");
  return n;
}

long capture_stream(amber::Capture& c, int fd, bool is_unix, bool drain, bool quick, Seg*& segs, uint32_t& nsegs, uint32_t& capsegs, bool* trunc,
                    Urg* urg) {
  int queued = 0;
  if (sys::ioctl(fd, 0x541b /*FIONREAD*/, (long)&queued) < 0 || queued < 0) queued = 0;
  // TCP urgent data (MSG_OOB): a read stops at its mark, and without SO_OOBINLINE the urgent byte
  // is not in the stream: it waits for recv(MSG_OOB), peeked here (left for the program).
  bool inline_urg = !is_unix && get_int(fd, SOL_SOCKET_, 10 /*SO_OOBINLINE*/, 0) == 1;
  urg->mark = -1;
  urg->byte = -1;
  if (!is_unix && !inline_urg) {
    unsigned char b = 0;
    if (sys::sc6(sys::NR_recvfrom, fd, (long)&b, 1, MSG_OOB_ | MSG_PEEK_ | MSG_DONTWAIT_, 0, 0) == 1) urg->byte = b;
  }
  if (!is_unix && drain) {
    if (at_mark(fd)) urg->mark = 0;
    // Read to the end: each read opens the window, and the peer's kernel sends what its send
    // queue held (loopback: before our read returns). Bounded in time against a peer that
    // never stops.
    uint64_t total = 0;
    int idle = 0;
    sys::ktimespec t0{}, now{};
    sys::clock_gettime(1 /*CLOCK_MONOTONIC*/, &t0);
    for (;;) {
      char* dst = c.str.ensure(1u << 20);
      if (!dst) return -ENOMEM;
      // MSG_DONTWAIT, not O_NONBLOCK on the description: another process of the computation may
      // hold the same description and be capturing it at this moment; setting and restoring its
      // flags would leave that one's drain blocked in a read on an empty queue forever.
      long n = sys::sc6(sys::NR_recvfrom, fd, (long)dst, 1u << 20, MSG_DONTWAIT_, 0, 0);
      if (n > 0) {
        c.str.len += (uint32_t)n;
        total += (uint64_t)n;
        idle = 0;
        // A read ends at the urgent mark: the next one starts there.
        if (urg->mark < 0 && at_mark(fd)) urg->mark = (int64_t)total;
        continue;
      }
      if (n == 0 || (n != -EAGAIN && n != -EINTR)) break;
      // A peer on another host (or node) with nothing queued for us had its window open: it had
      // sent everything before it was frozen, and the link delivered it (every process is frozen
      // before any is captured). Waiting would cost 40 ms per idle connection; only a queue that
      // held bytes (a window that may have been closed) is waited on.
      if (quick && total == 0) break;
      sys::clock_gettime(1, &now);
      // A peer on another host answers our reads' window updates through its network stack
      // (softirq work that a busy machine runs late), not before our read returns as loopback
      // does: a queue that held bytes is waited on for 200 ms of silence, not 40.
      if (++idle > (quick ? 20 : 3) || (now.sec - t0.sec) * 1000 + (now.nsec - t0.nsec) / 1000000 > 2000) break;
      k_wait(fd, 1, 10);
    }
    return (long)total;
  }
  if (!is_unix && urg->byte < 0 && !(inline_urg && queued > 0)) {
    // TCP carries no descriptors: one peek takes the whole queue.
    if (!queued) return 0;
    char* dst = c.str.ensure((uint64_t)queued);
    if (!dst) return -ENOMEM;
    long n = sys::sc6(sys::NR_recvfrom, fd, (long)dst, queued, MSG_PEEK_ | MSG_DONTWAIT_, 0, 0);
    if (n < 0) n = 0;
    c.str.len += (uint32_t)n;
    return n;
  }
  if (!is_unix) {
    // Urgent data may be queued: a peek stops at the mark (FIONREAD, without SO_OOBINLINE, counts
    // only the bytes before it), so the queue is walked with SO_PEEK_OFF. A peek that comes short
    // and is followed by more bytes ended at the mark; without SO_OOBINLINE the peek from the mark
    // skips the urgent byte, which the peek offset still counts (sequence space): one more.
    int old_off = get_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, -1);
    if (set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, 0) < 0) {
      // No SO_PEEK_OFF for TCP (before Linux 6.9): the bytes up to the mark, as one peek gives.
      char* dst = queued > 0 ? c.str.ensure((uint64_t)queued) : nullptr;
      long n = dst ? sys::sc6(sys::NR_recvfrom, fd, (long)dst, queued, MSG_PEEK_ | MSG_DONTWAIT_, 0, 0) : 0;
      if (n < 0) n = 0;
      c.str.len += (uint32_t)n;
      return n;
    }
    uint64_t total = 0, skip = 0;
    bool short_peek = false;
    if (at_mark(fd)) {
      urg->mark = 0;
      skip = inline_urg ? 0 : 1;  // the first peek starts at the mark
    }
    for (;;) {
      const uint64_t want = 1u << 20;
      char* dst = c.str.ensure(want);
      if (!dst) { set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, old_off); return -ENOMEM; }
      set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, (int)(total + (urg->mark >= 0 && urg->mark < (int64_t)total ? skip : 0)));
      long n = sys::sc6(sys::NR_recvfrom, fd, (long)dst, want, MSG_PEEK_ | MSG_DONTWAIT_, 0, 0);
      if (n <= 0) break;
      if (short_peek && urg->mark < 0) {
        urg->mark = (int64_t)total;
        skip = inline_urg ? 0 : 1;
      }
      short_peek = (uint64_t)n < want;
      c.str.len += (uint32_t)n;
      total += (uint64_t)n;
    }
    set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, old_off);
    return (long)total;
  }
  int old_off = get_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, -1);
  if (set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, 0) < 0) return -EOPNOTSUPP;
  uint64_t total = 0;
  uint32_t plain = 0;  // bytes since the last run with descriptors
  char ctl[kCtl];
  for (;;) {
    uint64_t want = queued > 0 && (uint64_t)queued > total ? (uint64_t)queued - total : 65536;
    char* dst = c.str.ensure(want);
    if (!dst) { set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, old_off); return -ENOMEM; }
    uint64_t cl = sizeof ctl;
    int mf = 0;
    long n = peek(fd, dst, want, nullptr, nullptr, ctl, &cl, &mf, 0);
    if (n <= 0) break;
    Cmsg m;
    parse_cmsgs(ctl, cl, mf, m);
    if (m.trunc) *trunc = true;
    if (!m.nfds) {
      c.str.len += (uint32_t)n;
      total += (uint64_t)n;
      plain += (uint32_t)n;
      continue;
    }
    // The descriptors came with the last write in [total, total + n), whose start no peek can
    // tell (a peek that runs out of room walks on to the next write carrying descriptors). They
    // go back with the last byte of the run: a reader gets them with the read that reaches the
    // end of that write — as it did when the write was that byte alone (the usual one-byte
    // carrier), never earlier than the write's end (a plain read of what came before must not
    // touch them, or the kernel drops them).
    uint64_t start = (uint64_t)n - 1;
    if (!grow(c, segs, nsegs + 2, capsegs)) { close_fds(m); break; }
    if (plain + start) segs[nsegs++] = Seg{plain + (uint32_t)start, 0, 0};
    c.str.len += (uint32_t)n;
    total += (uint64_t)n;
    plain = 0;
    segs[nsegs++] = Seg{(uint32_t)((uint64_t)n - start), m.nfds, g_nhid};
    // The placeholders are written with the message records; remember the descriptors now.
    for (uint32_t k = 0; k < m.nfds; k++) {
      if (!grow(c, g_hid, g_nhid, g_caphid)) { sys::close(m.fds[k]); continue; }
      g_hid[g_nhid++] = Hid{m.fds[k], 0xffffffffu, false};
    }
  }
  set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, old_off);
  return (long)total;
}

// A datagram or seqpacket socket's queue, message by message, each with its sender's address and
// the descriptors it carries: appended as amber_sockmsg records. Returns how many.
uint32_t capture_dgrams(amber::Capture& c, int fd, bool take, bool* trunc) {
  // Peeked (the program reads them later), or taken when the checkpoint ends the program: a
  // zero-length message a peek has seen once is passed over by every later peek at an offset.
  int old_off = get_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, -1);
  if (!take && set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, 0) < 0) return 0;
  if (take) { g_took++; g_held_pid = sys::getpid(); }
  uint32_t n = 0;
  uint64_t room = 65536 + 64;
  char ctl[kCtl];
  for (;;) {
    int off = get_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, -1);
    amber_sockmsg h{};
    uint32_t at = c.str.append(&h, sizeof h);
    char name[AMBER_SOCK_ADDR_MAX];
    uint32_t namelen = sizeof name;
    char* dst = c.str.ensure(room + sizeof name);
    if (!dst) break;
    uint64_t cl = sizeof ctl;
    int mf = 0;
    long r;
    if (take) {
      kiovec iov{dst + sizeof name, room};
      kmsghdr km{};
      km.name = name;
      km.namelen = namelen;
      km.iov = &iov;
      km.iovlen = 1;
      km.control = ctl;
      km.controllen = cl;
      // MSG_PEEK first for the length (a message longer than the room is not cut), then taken.
      long len = k_recvmsg(fd, &km, MSG_PEEK_ | MSG_DONTWAIT_ | MSG_TRUNC_ | MSG_CMSG_CLOEXEC_);
      if (len >= 0) { Cmsg pm; parse_cmsgs(ctl, km.controllen, km.flags, pm); close_fds(pm); }
      if (len > (long)room) { c.str.len = at; room = (uint64_t)len + 64; continue; }
      km.namelen = sizeof name;
      km.controllen = sizeof ctl;
      r = k_recvmsg(fd, &km, MSG_DONTWAIT_ | MSG_TRUNC_ | MSG_CMSG_CLOEXEC_);
      namelen = km.namelen;
      cl = r >= 0 ? km.controllen : 0;
      mf = km.flags;
    } else {
      r = peek(fd, dst + sizeof name, room, name, &namelen, ctl, &cl, &mf, MSG_TRUNC_);
    }
    if (r < 0) { c.str.len = at; break; }
    Cmsg m;
    parse_cmsgs(ctl, cl, mf, m);
    if (!take && (uint64_t)r > room) {
      // Longer than the room given: peek it again, whole.
      close_fds(m);
      c.str.len = at;
      room = (uint64_t)r + 64;
      set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, off);
      continue;
    }
    if (m.trunc) *trunc = true;
    if (namelen > sizeof name) namelen = sizeof name;
    h.len = (uint32_t)r;
    h.addr_len = namelen;
    h.nfds = m.nfds;
    if (m.creds) { h.flags |= AMBER_SOCKMSG_CREDS; h.pid = m.pid; h.uid = m.uid; h.gid = m.gid; }
    memcpy(c.str.buf + at, &h, sizeof h);
    // [header][name][data]: the data was peeked after a full-size name slot; close the gap.
    char* base = c.str.buf + at + sizeof h;
    memcpy(base, name, namelen);
    memmove(base + namelen, base + sizeof name, (size_t)r);
    c.str.len = at + (uint32_t)sizeof h + namelen + (uint32_t)r;
    for (uint32_t k = 0; k < m.nfds; k++) add_hidden(c, m.fds[k]);
    // (A zero-length message is passed over by the next peek: the kernel marks it peeked.)
    if (++n >= (1u << 24)) break;  // a guard only: a queue is bounded by its buffer
  }
  if (!take) set_int(fd, SOL_SOCKET_, SO_PEEK_OFF_, old_off);
  return n;
}

// The record of f in the string space (null when it has none).
bool view_of(const amber::Capture& c, const amber_fd& f, amber_sockview* v) {
  if (f.kind != AMBER_FD_SOCKET || !f.data.len) return false;
  return amber_sock_parse(c.str.buf + f.data.off, f.data.len, v) && v->has_x;
}

char g_reason[400];

}  // namespace

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
  if (k_getsockname(fd, si.local, &si.local_len) < 0) si.local_len = 0;
  si.peer_len = sizeof si.peer;
  if (k_getpeername(fd, si.peer, &si.peer_len) < 0) si.peer_len = 0;
  if (si.local_len > sizeof si.local) si.local_len = sizeof si.local;
  if (si.peer_len > sizeof si.peer) si.peer_len = sizeof si.peer;
  bool known = si.family == AF_INET_ || si.family == AF_INET6_ || si.family == AF_UNIX_;
  if (listening && known) *subkind = AMBER_SOCK_LISTEN;
  else if (si.peer_len && known) *subkind = AMBER_SOCK_CONNECTED;
  int outq = 0;
  if (si.type == SOCK_STREAM_ && si.family != AF_UNIX_ && sys::ioctl(fd, 0x5411 /*SIOCOUTQ*/, (long)&outq) == 0 && outq > 0)
    si.sndq = (uint32_t)outq;
}

void socket_store(amber::Capture& c, amber_fd& f, amber_sockinfo& si) { f.data = c.str.add(reinterpret_cast<const char*>(&si), sizeof si); }

bool opt_to_save(int fd, int fresh, int level, int name, uint32_t len, amber_sockopt& o, bool zero_default) {
  o.level = level;
  o.name = name;
  uint32_t got = len;
  if (sys::getsockopt(fd, level, name, o.val, &got) < 0 || got > sizeof o.val) return false;
  o.len = got;
  if (fresh >= 0) {
    uint8_t fv[16] = {};
    uint32_t fl = len;
    return !(sys::getsockopt(fresh, level, name, fv, &fl) == 0 && fl == got && !memcmp(fv, o.val, got));
  }
  if (!zero_default) return true;
  for (uint32_t k = 0; k < got; k++)
    if (o.val[k]) return true;
  return false;
}

void socket_capture(amber::Capture& c, amber_fd& f, amber_sockinfo& si, SockFacts& sf) {
  bool is_unix = si.family == AF_UNIX_;
  bool listening = f.subkind == AMBER_SOCK_LISTEN;
  uint32_t start = c.str.append(&si, sizeof si);  // patched at the end
  amber_sockx x{};
  x.magic = AMBER_SOCKX_MAGIC;
  x.state = sf.state;
  x.shutdown = sf.shutdown;
  x.flags = sf.flags;
  x.backlog = sf.backlog;
  x.peek_off = get_int(f.fd, SOL_SOCKET_, SO_PEEK_OFF_, -1);
  bool trunc = false;
  // Bound: an address a restart must take again (a Unix name; an inet port or address).
  if (is_unix) {
    if (si.local_len > 2) x.flags |= AMBER_SOCKX_BOUND;
    // Bound to a path that no longer names this socket (unlinked by the program, or taken by
    // another file): the restart must not leave a socket file there. The path is looked up as the
    // program would now (relative to its working directory), which is where the restart binds it.
    if (si.local_len > 2 && si.local[2] != 0 && si.local_len <= sizeof si.local) {
      char path[112];
      uint32_t n = si.local_len - 2 < sizeof path - 1 ? si.local_len - 2 : (uint32_t)sizeof path - 1;
      __builtin_memcpy(path, si.local + 2, n);
      path[n] = 0;
      sys::kstat st{};
      if (sys::fstatat(-100, path, &st, 0x100 /*AT_SYMLINK_NOFOLLOW*/) != 0 || (st.st_mode & 0170000) != 0140000 ||
          (sf.vfs_ino && (uint32_t)st.st_ino != sf.vfs_ino))
        x.flags |= AMBER_SOCKX_UNLINKED;
    }
    // The socket file's mode and owner (a server chmods it after bind; root may have started it).
    if (si.local_len > 3 && si.local[2] == '/' && si.local_len <= sizeof si.local) {
      char path[112];
      uint32_t n = si.local_len - 2 < sizeof path - 1 ? si.local_len - 2 : (uint32_t)sizeof path - 1;
      __builtin_memcpy(path, si.local + 2, n);
      path[n] = 0;
      sys::kstat st{};
      if (sys::fstatat(-100, path, &st, 0x100 /*AT_SYMLINK_NOFOLLOW*/) == 0 && (st.st_mode & 0170000) == 0140000) {
        x.path_mode = (st.st_mode & 07777) | AMBER_SOCKX_PATH_MODE;
        x.path_uid = st.st_uid;
        x.path_gid = st.st_gid;
      }
    }
  } else {
    Addr a;
    if (addr_of(si.local, si.local_len, &a) && (a.port || !addr_any(a))) x.flags |= AMBER_SOCKX_BOUND;
  }
  // The queue: a stream's bytes (the messages only mark runs that carried descriptors).
  Seg* segs = nullptr;
  uint32_t nsegs = 0, capsegs = 0;
  bool stream = si.type == SOCK_STREAM_;
  bool ping = !is_unix && si.type == SOCK_DGRAM_ && (si.protocol == IPPROTO_ICMP_ || si.protocol == IPPROTO_ICMPV6_);
  // Our turn among the processes holding this socket (socket_turn), from the queue to the
  // pending connections: a peek moves the socket's one peek offset, a drain or a take empties it.
  bool turn = socket_turn(f.fd, true);
  if (stream && !listening) {
    Urg urg;
    long n = capture_stream(c, f.fd, is_unix, sf.drain, sf.drain_quick, segs, nsegs, capsegs, &trunc, &urg);
    si.inflight_len = n > 0 ? (uint32_t)n : 0;
    // The urgent mark, when there is an urgent byte to read: out of band (no mark seen inside the
    // bytes: it came after all of them), or inline (the byte at the mark). A byte already taken
    // with MSG_OOB leaves a mark that nothing can make again without a byte: not kept.
    if (n >= 0 && urg.byte >= 0) {
      x.urg_mark = (uint32_t)(urg.mark >= 0 && urg.mark <= n ? urg.mark : n) + 1;
      x.urg = (uint32_t)urg.byte | AMBER_SOCKX_URG_BYTE;
    } else if (urg.mark >= 0 && urg.mark < n && inline_urg_of(f.fd)) {
      x.urg_mark = (uint32_t)urg.mark + 1;
    }
    if (sf.drain) {
      g_took++;
      g_held_pid = sys::getpid();
      x.flags |= AMBER_SOCKX_DRAINED;
      // The state after the drain (a FIN that followed the bytes is in now).
      uint8_t ti[8] = {};
      uint32_t tl = sizeof ti;
      if (sys::getsockopt(f.fd, IPPROTO_TCP_, 11 /*TCP_INFO*/, ti, &tl) == 0) x.state = ti[0];
    }
  }
  uint32_t xat = c.str.append(&x, sizeof x);
  // Options that differ from a new socket's.
  int fresh = fresh_socket(si);
  for (const OptDef& d : kOpts) {
    amber_sockopt o{};
    if (!opt_to_save(f.fd, fresh, d.level, d.name, d.len, o, false)) continue;
    c.str.append(&o, sizeof o);
    x.nopts++;
  }
  // A classic BPF filter (SO_ATTACH_FILTER): SO_GET_FILTER gives its instructions back (len counts
  // instructions). Saved as options SO_ATTACH_FILTER of 16 bytes each, in order; sock_set_opts
  // puts them together again. (An eBPF program, SO_ATTACH_BPF, has no instructions to give.)
  uint32_t ninsn = 0;
  if (sys::getsockopt(f.fd, SOL_SOCKET_, kSoAttachFilter, nullptr, &ninsn) == 0 && ninsn > 0 && ninsn <= kMaxInsns) {
    uint8_t* prog = static_cast<uint8_t*>(c.a.take(ninsn * 8u));
    uint32_t got = ninsn;
    if (!prog) {
      c.fail(-ENOMEM, "scratch exhausted saving a socket filter");
    } else if (sys::getsockopt(f.fd, SOL_SOCKET_, kSoAttachFilter, prog, &got) == 0 && got == ninsn) {
      for (uint32_t off = 0; off < ninsn * 8u; off += 16) {
        amber_sockopt o{};
        o.level = SOL_SOCKET_;
        o.name = kSoAttachFilter;
        o.len = ninsn * 8u - off < 16 ? ninsn * 8u - off : 16;
        o.pad = kFilterTag;
        memcpy(o.val, prog + off, o.len);
        c.str.append(&o, sizeof o);
        x.nopts++;
      }
    }
  }
  // Multicast groups the socket joined (IP_ADD_MEMBERSHIP, MCAST_JOIN_GROUP): no option reads
  // them back, but MCAST_MSFILTER answers for one (interface, group) whether this socket is a
  // member (EADDRNOTAVAIL when not), and /proc/net/igmp{,6} lists the groups joined on each
  // interface. Saved as MCAST_JOIN_GROUP options (group address in val, interface in pad).
  if (!is_unix && (si.type == SOCK_DGRAM_ || si.type == SOCK_RAW_)) x.nopts += capture_memberships(c, f, si.family);
  // Messages: a stream's runs that carried descriptors; every datagram/seqpacket message.
  if (stream) {
    uint32_t total = 0;
    for (uint32_t k = 0; k < nsegs; k++) {
      amber_sockmsg h{};
      h.len = segs[k].len;
      h.nfds = segs[k].nfds;
      c.str.append(&h, sizeof h);
      for (uint32_t j = 0; j < segs[k].nfds; j++) {
        uint32_t ph = 0xffffffffu;
        uint32_t at = c.str.append(&ph, sizeof ph);
        if (segs[k].hid + j < g_nhid) g_hid[segs[k].hid + j].patch = at;
      }
      total += segs[k].len;
      x.nmsgs++;
    }
    (void)total;
  } else if (ping) {
    x.nmsgs = inet_ping_capture(c, f.fd, si);
  } else if (!listening) {
    x.nmsgs = capture_dgrams(c, f.fd, amber::g.ending, &trunc);
  }
  // A listener's connections not accepted yet: taken when the computation ends after this
  // checkpoint (the restart connects them again with their bytes); otherwise only counted.
  if (listening && amber::g.ending) {
    long fl = sys::fcntl(f.fd, F_GETFL, 0);
    // Read again in our turn: the fdinfo flags were read before it, maybe while another holder
    // had the description non-blocking.
    if (fl >= 0) f.flags = (int32_t)((f.flags & ~O_NONBLOCK) | (fl & O_NONBLOCK));
    if (fl >= 0 && !(fl & O_NONBLOCK)) sys::fcntl(f.fd, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
      long a = k_accept4(f.fd, O_CLOEXEC);
      if (a < 0) break;
      // Reset rather than left in TIME_WAIT when the process is killed (its port is the
      // listener's, which the restart binds again).
      int32_t lin[2] = {1, 0};
      sys::setsockopt((int)a, SOL_SOCKET_, SO_LINGER_, lin, sizeof lin);
      if (!hold((int)a)) { sys::close((int)a); c.fail(-ENOMEM, "cannot hold a pending connection"); break; }
      // The record refers to it by a hidden entry; our copy for capture is a dup, closed with the
      // others, while g_held keeps the connection itself open until the end.
      long d = sys::fcntl((int)a, F_DUPFD_CLOEXEC, 0);
      if (d < 0) continue;
      add_hidden(c, (int)d, true);
      x.npending++;
    }
    if (fl >= 0 && !(fl & O_NONBLOCK)) sys::fcntl(f.fd, F_SETFL, fl);
  } else if (listening && sf.pending) {
    x.flags |= AMBER_SOCKX_NODATA;
    x.unsaved = sf.pending;
  }
  if (turn) socket_turn(f.fd, false);
  if (trunc) x.flags |= AMBER_SOCKX_TRUNC;
  x.size = c.str.len - xat;
  if (c.str.full) return;
  memcpy(c.str.buf + xat, &x, sizeof x);
  memcpy(c.str.buf + start, &si, sizeof si);
  uint32_t end = c.str.len;
  c.str.append("", 1);  // the NUL every string has
  f.data = amber_str{start, end - start};
}

bool socket_restorable(const amber::Capture& c, const amber_fd& f) {
  amber_sockview v;
  if (!view_of(c, f, &v)) return false;
  return !(v.x.flags & (AMBER_SOCKX_REMOTE | AMBER_SOCKX_SNDQ_LOST | AMBER_SOCKX_NODATA | AMBER_SOCKX_TRUNC));
}

const char* socket_reason(const amber::Capture& c, const amber_fd& f) {
  amber_sockview v;
  if (!view_of(c, f, &v)) return nullptr;
  sys::Out o(g_reason, sizeof g_reason);
  if (v.x.flags & AMBER_SOCKX_REMOTE) {
    o.s("its peer is outside the computation; at restart it reads the ").u(v.si.inflight_len)
        .s(" bytes that were waiting, then fails with ECONNRESET (writes: EPIPE)");
  } else if (v.x.flags & AMBER_SOCKX_SNDQ_LOST) {
    o.u(v.si.sndq).s(" bytes in its send queue cannot be saved without CAP_NET_ADMIN (TCP_REPAIR); at restart both ends read what was waiting, then fail with ECONNRESET");
  } else if (v.x.flags & AMBER_SOCKX_NODATA) {
    o.u(v.x.unsaved).s(" connection(s) waiting to be accepted are saved only by a checkpoint that ends the program (--kill); restarting from this one resets them");
  } else if (v.x.flags & AMBER_SOCKX_TRUNC) {
    o.s("a descriptor in flight in its queue could not be saved; its message comes back without it");
  } else {
    return nullptr;
  }
  return g_reason;
}

void sockets_capture_hidden(amber::Capture& c, void (*capture_one)(amber::Capture&, int, amber_fd&)) {
  // Each hidden descriptor: the same open file as one in the table (kcmp) is that record; else a
  // record of its own, captured like any descriptor (a socket in flight may carry more: the list
  // grows while we walk it). Sockets already captured are referred to by their inode.
  uint32_t table = c.nfds;
  uint32_t self = (uint32_t)sys::getpid();
  for (uint32_t h = 0; h < g_nhid && !c.failed; h++) {
    int fd = g_hid[h].fd;
    uint32_t idx = 0xffffffffu;
    sys::kstat st{};
    sys::fstat(fd, &st);
    for (uint32_t i = 0; i < c.nfds && idx == 0xffffffffu; i++) {
      const amber_fd& f = c.fds[i];
      if (f.inode != st.st_ino || f.dev != st.st_dev) continue;
      if (i < table) {
        long k = sys::sc5(NR_kcmp, self, self, 0 /*KCMP_FILE*/, fd, f.fd);
        if (k == 0 || (k < 0 && (st.st_mode & 0170000) == 0140000)) idx = i;
      } else if ((st.st_mode & 0170000) == 0140000) {
        idx = i;  // a socket met in flight before: the same socket
      }
    }
    if (idx == 0xffffffffu) {
      if (!grow(c, c.fds, c.nfds, c.cap_fds)) break;
      idx = c.nfds;
      amber_fd& f = c.fds[c.nfds++];
      memset(&f, 0, sizeof f);
      g_in_hidden = true;
      capture_one(c, fd, f);
      g_in_hidden = false;
      amber_fd& g2 = c.fds[idx];  // capture_one may have grown the table
      g2.fd = AMBER_FD_HIDDEN_BASE + (int32_t)(idx - table);
      g2.fd_flags = (g2.fd_flags | AMBER_FD_HIDDEN) & ~1u;
      amber_sockview v;
      if (g_hid[h].pending && view_of(c, g2, &v)) {
        // Mark it pending in its own record (the listener's list is what the restart uses).
        uint32_t xoff = g2.data.off + (uint32_t)sizeof(amber_sockinfo) + v.si.inflight_len;
        uint32_t fl = v.x.flags | AMBER_SOCKX_PENDING;
        memcpy(c.str.buf + xoff + offsetof(amber_sockx, flags), &fl, 4);
      }
    }
    if (g_hid[h].patch != 0xffffffffu && g_hid[h].patch + 4 <= c.str.len) memcpy(c.str.buf + g_hid[h].patch, &idx, 4);
  }
  for (uint32_t h = 0; h < g_nhid; h++) sys::close(g_hid[h].fd);
  for (uint32_t i = 0; i < g_nfresh; i++) if (g_fresh[i].fd >= 0) sys::close(g_fresh[i].fd);
  g_hid = nullptr;
  g_nhid = g_caphid = 0;
  g_nfresh = 0;
}

bool capturing_hidden() { return g_in_hidden; }

void sockets_resumed() {
  // The program goes on after a checkpoint that was to end it (the write failed): the
  // connections taken from its listeners cannot be put back; they are closed (the clients see
  // the server close them) and the program is told on stderr.
  if ((g_nheld || g_took) && sys::getpid() != g_held_pid) {
    // Restored: the list came back with our memory, but those descriptors did not (their
    // numbers may be the program's now). The connections were queued again by the restart.
    g_nheld = g_took = 0;
    return;
  }
  if (g_nheld || g_took) {
    char msg[240];
    sys::Out o(msg, sizeof msg);
    o.s("amber: warning: the checkpoint did not end the program after all: ").u(g_nheld)
        .s(" connection(s) not yet accepted were taken from its listeners and are closed, and ").u(g_took)
        .s(" socket queue(s) read to the end are gone\n");
    sys::write_all(2, msg, o.len);
  }
  g_took = 0;
  for (uint32_t i = 0; i < g_nheld; i++) sys::close(g_held[i]);
  g_nheld = 0;
}

}  // namespace fd
#endif  // AMBER_AGENT

#ifdef AMBER_RESTORER
namespace rs {
namespace {

Sock* g_socks;
uint32_t g_nsocks;
uint32_t* g_by_inode;  // indexes into g_socks, by inode
bool g_built;

bool is_hidden(const amber_fd& f) { return (f.fd_flags & AMBER_FD_HIDDEN) != 0; }
bool is_conn_type(int type) { return type == fd::SOCK_STREAM_ || type == fd::SOCK_SEQPACKET_; }

void build() {
  g_built = true;
  uint32_t n = 0;
  const fd::Kind kinds[2] = {fd::Kind::UNIX, fd::Kind::INET};
  for (fd::Kind k : kinds)
    for (const Ref* r = refs_begin(k); r != refs_end(k); r++)
      if (r == refs_begin(k) || r[-1].inode != r->inode) n++;
  g_socks = alloc_n<Sock>(n ? n : 1);
  g_by_inode = alloc_n<uint32_t>(n ? n : 1);
  for (fd::Kind k : kinds) {
    for (const Ref* r = refs_begin(k); r != refs_end(k);) {
      const Ref* end = r;
      while (end != refs_end(k) && end->inode == r->inode) end++;
      Sock& s = g_socks[g_nsocks];
      s.first = r;
      s.end = end;
      s.kind = k;
      s.fd = s.feeder = -1;
      s.hidden = true;
      // The record to use: a table's rather than a hidden copy's, one with the 1.4 extension.
      const Ref* best = nullptr;
      for (const Ref* e = r; e != end; e++) {
        const amber_fd& f = fd_of(*e);
        if (!is_hidden(f)) s.hidden = false;
        const char* d;
        uint32_t len;
        amber_sockview v;
        if (!amber_str_at(&T.img[e->img].v, f.data, &d, &len) || !amber_sock_parse(d, len, &v)) continue;
        // A queue read to the end (a checkpoint that ended the program) is in the record of
        // the process that read it first: the one holding the most.
        uint64_t have = s.v.si.inflight_len + (uint64_t)s.v.x.nmsgs, here = v.si.inflight_len + (uint64_t)v.x.nmsgs;
        bool better = !best || (v.has_x && !s.v.has_x) ||
                      (v.has_x == s.v.has_x && (here > have || (here == have && is_hidden(fd_of(*best)) && !is_hidden(f))));
        if (better) {
          best = e;
          s.v = v;
        }
      }
      s.rec = best ? best : r;
      // A connection restart made to another tree and passed in (--sockfd): already whole, its
      // bytes written by restart (lib/sockets.ts).
      for (const Ref* e = r; e != end; e++)
        if (T.img[e->img].prep[e->idx] >= 0) { s.fd = T.img[e->img].prep[e->idx]; s.filled = true; }
      if (best) g_nsocks++;
      else warn_fd("a socket whose saved record cannot be read", fd_of(*r), -22, "it becomes /dev/null");
      r = end;
    }
  }
  for (uint32_t i = 0; i < g_nsocks; i++) g_by_inode[i] = i;
  sort(g_by_inode, g_nsocks, [](uint32_t a, uint32_t b) { return g_socks[a].first->inode < g_socks[b].first->inode; });
}

// Milliseconds of sleep (the restorer has nothing else to do while a port is released).
void nap(int ms) {
  sys::ktimespec ts{0, (int64_t)ms * 1000000};
  sys::nanosleep(&ts, nullptr);
}

// The saved address as a sockaddr a socket of `family` can use; loopback for a wildcard.
uint32_t dest_of(const Sock& s, uint16_t family, uint8_t* out) {
  if (s.v.si.family == fd::AF_UNIX_) {
    memcpy(out, s.v.si.local, s.v.si.local_len);
    return s.v.si.local_len;
  }
  fd::Addr a{};
  if (!fd::addr_of(s.v.si.local, s.v.si.local_len, &a)) return 0;
  if (fd::addr_any(a)) {
    // A wildcard is reached at loopback, in the sender's family (a dual-stack socket takes both).
    for (int i = 0; i < 16; i++) a.ip[i] = 0;
    a.family = family == fd::AF_INET_ ? (uint16_t)fd::AF_INET_ : a.family;
    if (a.family == fd::AF_INET_) { a.ip[0] = 127; a.ip[3] = 1; }
    else a.ip[15] = 1;
  }
  return fd::sockaddr_for(family, a, out);
}

bool is_unix_path(const uint8_t* sa, uint32_t len) { return len > 2 && sa[0] == 1 && sa[2] != 0; }

// A Unix socket file left by the checkpointed run: removed only when it is a socket nobody
// listens on any more (connect refused), so a live daemon's name is never taken.
void clear_stale(const uint8_t* sa, uint32_t len, int type) {
  if (!is_unix_path(sa, len)) return;
  char path[110];
  uint32_t n = len - 2 < sizeof path - 1 ? len - 2 : (uint32_t)sizeof path - 1;
  memcpy(path, sa + 2, n);
  path[n] = 0;
  sys::kstat st{};
  if (sys::fstatat(-100, path, &st, 0x100 /*AT_SYMLINK_NOFOLLOW*/) < 0 || (st.st_mode & sys::S_IFMT_) != 0140000) return;
  long p = sys::socket(fd::AF_UNIX_, type | sys::O_CLOEXEC_, 0);
  long r = p >= 0 ? sys::connect((int)p, sa, (int)len) : -1;
  if (p >= 0) sys::close((int)p);
  if (r == -111 /*ECONNREFUSED*/ || r == -91 /*EPROTOTYPE*/ || r == -2) sys::unlink(path);
}

// bind() again; a port or abstract name still held by the dying process of the checkpointed run
// is waited for (a few seconds at most).
long bind_again(int fd, const uint8_t* sa, uint32_t len, int type) {
  clear_stale(sa, len, type);
  long r = fd::k_bind(fd, sa, len);
  for (int i = 0; r == -98 /*EADDRINUSE*/ && i < 60; i++) {
    nap(50);
    clear_stale(sa, len, type);
    r = fd::k_bind(fd, sa, len);
  }
  return r;
}

void set_buf(int fd, int name, int val) {
  // FORCE passes the system's limit when we may (as the program's own setting once did).
  if (sys::setsockopt(fd, fd::SOL_SOCKET_, name == fd::SO_SNDBUF_ ? fd::SO_SNDBUFFORCE_ : fd::SO_RCVBUFFORCE_, &val, sizeof val) < 0)
    sys::setsockopt(fd, fd::SOL_SOCKET_, name, &val, sizeof val);
}

int saved_buf(const amber_sockview& v, int name) {
  for (uint32_t k = 0; k < v.x.nopts; k++) {
    amber_sockopt o = amber_sock_opt(&v, k);
    if (o.level == fd::SOL_SOCKET_ && o.name == name && o.len == 4) {
      int val;
      memcpy(&val, o.val, 4);
      return val;
    }
  }
  return 0;
}

// The Sock whose saved local address is `sa` (a datagram sender), of this family and type.
Sock* bound_at(const uint8_t* sa, uint32_t len, uint16_t family, int type) {
  fd::Addr want{};
  bool inet = family != fd::AF_UNIX_;
  if (inet && !fd::addr_of(sa, len, &want)) return nullptr;
  for (uint32_t i = 0; i < g_nsocks; i++) {
    Sock& s = g_socks[i];
    if (s.fd < 0 || s.v.si.type != type || (s.v.si.family == fd::AF_UNIX_) != !inet) continue;
    if (!inet) {
      if (s.v.si.local_len == len && !memcmp(s.v.si.local, sa, len)) return &s;
      continue;
    }
    fd::Addr a{};
    if (!fd::addr_of(s.v.si.local, s.v.si.local_len, &a)) continue;
    if (addr_eq(a, want) || (a.port == want.port && fd::addr_any(a) && (a.family == want.family || s.v.si.family == fd::AF_INET6_)))
      return &s;
  }
  return nullptr;
}

// A socket of the tree as the sender of `addr` (sendto), or a new one bound there for a moment.
// *temp says it must be closed (and its path removed) after.
int sender_for(const Sock& to, const uint8_t* addr, uint32_t alen, bool* temp, bool* kept) {
  *temp = false;
  *kept = true;
  uint16_t fam = to.v.si.family;
  if (alen) {
    Sock* s = bound_at(addr, alen, fam, to.v.si.type);
    if (!s && fam != fd::AF_UNIX_) {
      // The other IP family's socket of the tree bound there (a v4 sender to a dual-stack socket).
      fd::Addr a{};
      if (fd::addr_of(addr, alen, &a)) s = bound_at(addr, alen, a.family == fd::AF_INET_ ? fd::AF_INET_ : fd::AF_INET6_, to.v.si.type);
    }
    if (s) return s->fd;
  }
  int family = fam;
  fd::Addr a{};
  if (alen && fam != fd::AF_UNIX_ && fd::addr_of(addr, alen, &a)) family = a.family;
  long t = sys::socket(family, to.v.si.type | sys::O_CLOEXEC_, fam == fd::AF_UNIX_ ? 0 : to.v.si.protocol);
  if (t < 0) return -1;
  *temp = true;
  if (!alen) return (int)t;
  long r;
  if (fam == fd::AF_UNIX_) {
    char path[110];
    if (is_unix_path(addr, alen)) {
      uint32_t n = alen - 2 < sizeof path - 1 ? alen - 2 : (uint32_t)sizeof path - 1;
      memcpy(path, addr + 2, n);
      path[n] = 0;
      sys::kstat st{};
      // A name that exists is another program's (a live socket) or a stale file: only a stale one
      // may be replaced for a moment.
      clear_stale(addr, alen, to.v.si.type);
      if (sys::fstatat(-100, path, &st, 0x100) == 0) { *kept = false; return (int)t; }
    }
    r = fd::k_bind((int)t, addr, alen);
  } else {
    fd::set_int((int)t, fd::SOL_SOCKET_, fd::SO_REUSEADDR_, 1);
    fd::set_int((int)t, fd::SOL_SOCKET_, fd::SO_REUSEPORT_, 1);
    uint8_t sa[28];
    uint32_t sl = fd::sockaddr_for((uint16_t)family, a, sa);
    r = fd::k_bind((int)t, sa, sl);
  }
  if (r < 0) *kept = false;
  return (int)t;
}

void drop_temp(int fd, const uint8_t* addr, uint32_t alen, uint16_t family, bool bound) {
  sys::close(fd);
  if (bound && family == fd::AF_UNIX_ && is_unix_path(addr, alen)) {
    char path[110];
    uint32_t n = alen - 2 < sizeof path - 1 ? alen - 2 : (uint32_t)sizeof path - 1;
    memcpy(path, addr + 2, n);
    path[n] = 0;
    sys::unlink(path);
  }
}

// One write of queued bytes (with the descriptors they carried), waiting while the receiver's
// queue makes room; false when it stays full (then the rest cannot be put back).
bool send_run(int from, const char* p, uint64_t n, const int* fds, uint32_t nfds, const uint8_t* to, uint32_t tolen) {
  char ctl[fd::cmsg_align(sizeof(fd::kcmsghdr) + 4 * 253)];
  bool first = true;
  int stalled = 0;
  do {
    fd::kiovec iov{const_cast<char*>(p), n};
    fd::kmsghdr m{};
    m.name = const_cast<uint8_t*>(to);
    m.namelen = tolen;
    m.iov = &iov;
    m.iovlen = 1;
    if (first && nfds) {
      fd::kcmsghdr h{sizeof(fd::kcmsghdr) + 4ull * nfds, fd::SOL_SOCKET_, fd::SCM_RIGHTS_};
      memcpy(ctl, &h, sizeof h);
      memcpy(ctl + sizeof h, fds, 4ull * nfds);
      m.control = ctl;
      m.controllen = fd::cmsg_align(h.len);
    }
    long r = fd::k_sendmsg(from, &m, fd::MSG_DONTWAIT_ | fd::MSG_NOSIGNAL_);
    if (r == -11 /*EAGAIN*/ || r == -105 /*ENOBUFS*/) {
      // Not POLLOUT: a TCP socket says it only when half its buffer is free, and the last bytes
      // of a full queue need less. Retried for two seconds without progress.
      if (++stalled > 400) return false;
      nap(5);
      continue;
    }
    stalled = 0;
    if (r == -4) continue;
    if (r < 0) return false;
    first = false;
    p += r;
    n -= (uint64_t)r;
  } while (n);
  return true;
}

// The descriptors a message carries, made before the fork (fd.cc's restore_for_message).
uint32_t message_fds(const Sock& s, const amber_sockmsg_view& m, int* out) {
  uint32_t k = 0;
  const Ref& r = *s.rec;
  for (uint32_t j = 0; j < m.m.nfds && j < 253; j++) {
    uint32_t idx = amber_sock_msg_fd(&m, j);
    if (idx >= T.img[r.img].v.nfds) continue;
    long fd = restore_for_message((int)r.img, idx);
    if (fd >= 0) out[k++] = (int)fd;
  }
  return k;
}

const char* name_of(const Sock& s, char* buf, uint32_t cap) {
  sys::Out o(buf, cap);
  for (const Ref* r = s.first; r != s.end; r++)
    if (!is_hidden(fd_of(*r))) { o.s("fd ").i(fd_of(*r).fd); return buf; }
  o.s("a socket in flight");
  return buf;
}

// A buffer made large enough for a queue being put back, its own size noted to be set back after.
void raise_buf(Sock& owner, int fd, int name, int need) {
  int cur = fd::get_int(fd, fd::SOL_SOCKET_, name, 0);
  if (cur >= need) return;
  int& orig = name == fd::SO_SNDBUF_ ? owner.orig_snd : owner.orig_rcv;
  if (!orig && owner.fd == fd) orig = cur;
  set_buf(fd, name, need / 2);
}

// The program's own buffer sizes again (or what the new socket had before we raised them).
void put_bufs(Sock& s) {
  int sb = saved_buf(s.v, fd::SO_SNDBUF_), rb = saved_buf(s.v, fd::SO_RCVBUF_);
  if (sb) set_buf(s.fd, fd::SO_SNDBUF_, sb / 2);
  else if (s.orig_snd) set_buf(s.fd, fd::SO_SNDBUF_, s.orig_snd / 2);
  if (rb) set_buf(s.fd, fd::SO_RCVBUF_, rb / 2);
  else if (s.orig_rcv) set_buf(s.fd, fd::SO_RCVBUF_, s.orig_rcv / 2);
}

bool fin_received(const Sock& s) {
  if (s.kind == fd::Kind::UNIX) return (s.v.x.shutdown & fd::RCV_SHUTDOWN_) != 0;
  uint32_t st = s.v.x.state;
  return st == fd::TCP_CLOSE_WAIT_ || st == fd::TCP_LAST_ACK_ || st == fd::TCP_CLOSING_ || st == fd::TCP_CLOSE_;
}
bool fin_sent(const Sock& s) {
  if (s.kind == fd::Kind::UNIX) return (s.v.x.shutdown & fd::SEND_SHUTDOWN_) != 0;
  uint32_t st = s.v.x.state;
  return st == fd::TCP_FIN_WAIT1_ || st == fd::TCP_FIN_WAIT2_ || st == fd::TCP_CLOSING_ || st == fd::TCP_LAST_ACK_ ||
         st == fd::TCP_CLOSE_;
}

}  // namespace

Sock* socks(uint32_t* n) {
  if (!g_built) build();
  *n = g_nsocks;
  return g_socks;
}

Sock* sock_by_inode(uint64_t inode) {
  if (!g_built) build();
  uint32_t lo = 0, hi = g_nsocks;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (g_socks[g_by_inode[mid]].first->inode < inode) lo = mid + 1;
    else hi = mid;
  }
  return lo < g_nsocks && g_socks[g_by_inode[lo]].first->inode == inode ? &g_socks[g_by_inode[lo]] : nullptr;
}

const amber_fd& rec_of(const Sock& s) { return fd_of(*s.rec); }

void warn_sock(const Sock& s, const char* what, long err, const char* then) {
  char buf[400], nm[48];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: ").s(name_of(s, nm, sizeof nm)).s(": ").s(what);
  if (err) o.s(" (errno ").i(-err).c(')');
  if (then) o.s("; ").s(then);
  o.c('\n');
  sys::write_all(2, buf, o.len);
}

// The classic BPF filter saved in pieces (fd::kSoAttachFilter options tagged fd::kFilterTag),
// attached again; then SO_LOCK_FILTER when it was locked. false when there is none.
bool attach_filter(int fd, const amber_sockview& v) {
  uint32_t bytes = 0;
  for (uint32_t k = 0; k < v.x.nopts; k++) {
    amber_sockopt o = amber_sock_opt(&v, k);
    if (o.level == fd::SOL_SOCKET_ && o.name == fd::kSoAttachFilter && o.pad == fd::kFilterTag && o.len <= sizeof o.val) bytes += o.len;
  }
  if (!bytes || bytes % 8 || bytes / 8 > fd::kMaxInsns) return false;
  uint8_t* prog = alloc_n<uint8_t>(bytes);
  uint32_t at = 0;
  for (uint32_t k = 0; k < v.x.nopts; k++) {
    amber_sockopt o = amber_sock_opt(&v, k);
    if (o.level != fd::SOL_SOCKET_ || o.name != fd::kSoAttachFilter || o.pad != fd::kFilterTag || o.len > sizeof o.val) continue;
    memcpy(prog + at, o.val, o.len);
    at += o.len;
  }
  struct { uint16_t len; uint16_t pad[3]; const uint8_t* filter; } fprog = {(uint16_t)(bytes / 8), {0, 0, 0}, prog};
  long r = sys::setsockopt(fd, fd::SOL_SOCKET_, fd::kSoAttachFilter, &fprog, sizeof fprog);
  if (r < 0) {
    char msg[160];
    sys::Out m(msg, sizeof msg);
    m.s("amber: warning: cannot attach a socket's filter (SO_ATTACH_FILTER) again (errno ").i(-r).s("); it has none now\n");
    sys::write_all(2, msg, m.len);
  }
  return true;
}

void sock_set_opts(int fd, const amber_sockview& v, bool buffers) {
  bool lock = false;
  for (uint32_t k = 0; k < v.x.nopts; k++) {
    amber_sockopt o = amber_sock_opt(&v, k);
    if (o.len > sizeof o.val) continue;
    if (o.level == fd::SOL_SOCKET_ && o.name == fd::kSoAttachFilter) continue;  // attach_filter
    if ((o.level == 0 || o.level == fd::IPPROTO_IPV6_) && o.name == fd::kMcastJoinGroup) {
      // struct group_req: interface, (pad), sockaddr_storage group.
      uint8_t gr[8 + 128] = {};
      memcpy(gr, &o.pad, 4);
      uint16_t fam = o.level == 0 ? fd::AF_INET_ : fd::AF_INET6_;
      memcpy(gr + 8, &fam, 2);
      memcpy(gr + 8 + (o.level == 0 ? 4 : 8), o.val, o.level == 0 ? 4 : 16);
      long r = sys::setsockopt(fd, o.level, fd::kMcastJoinGroup, gr, sizeof gr);
      if (r < 0) {
        char msg[160];
        sys::Out m(msg, sizeof msg);
        m.s("amber: warning: cannot join a socket's multicast group again (errno ").i(-r).s("); it is no longer a member\n");
        sys::write_all(2, msg, m.len);
      }
      continue;
    }
    if (o.level == fd::SOL_SOCKET_ && o.name == fd::kSoLockFilter) {
      lock = true;
      continue;
    }
    if (o.level == fd::SOL_SOCKET_ && (o.name == fd::SO_SNDBUF_ || o.name == fd::SO_RCVBUF_)) {
      // Read back doubled (the kernel's bookkeeping): set half.
      int val;
      memcpy(&val, o.val, 4);
      if (buffers) set_buf(fd, o.name, val / 2);
      continue;
    }
    sys::setsockopt(fd, o.level, o.name, o.val, o.len);
  }
  attach_filter(fd, v);
  if (lock) {
    int one = 1;
    sys::setsockopt(fd, fd::SOL_SOCKET_, fd::kSoLockFilter, &one, sizeof one);
  }
  settle();
}

void sock_give(Sock& s, int fd) {
  s.fd = fd;
  for (const Ref* r = s.first; r != s.end; r++)
    if (T.img[r->img].prep[r->idx] < 0) T.img[r->img].prep[r->idx] = fd;
}

// The socket file just made by bind gets the saved mode and owner back. Opened O_PATH|O_NOFOLLOW
// and checked (a socket, ours) first: nothing another user put at the path is changed.
void sock_path_attrs(const amber_sockview& v) {
  const amber_sockinfo& si = v.si;
  if (si.local_len < 4 || si.local[2] != '/') return;
  char path[112];
  uint32_t n = si.local_len - 2 < sizeof path - 1 ? si.local_len - 2 : (uint32_t)sizeof path - 1;
  memcpy(path, si.local + 2, n);
  path[n] = 0;
  long pf = sys::open(path, 010000000 /*O_PATH*/ | 0400000 /*O_NOFOLLOW*/ | sys::O_CLOEXEC_);
  if (pf < 0) return;
  sys::kstat st{};
  long euid = sys::sc0(107 /*geteuid*/);
  if (sys::fstat((int)pf, &st) == 0 && (st.st_mode & 0170000) == 0140000 && (long)st.st_uid == euid) {
    char via[48];
    sys::Out(via, sizeof via).s("/proc/thread-self/fd/").i(pf);
    if ((st.st_mode & 07777) != (v.x.path_mode & 07777)) sys::sc2(90 /*chmod*/, (long)via, v.x.path_mode & 07777);
    // As root, the owner too (unprivileged it is ours already, and cannot be given away).
    if (euid == 0 && (st.st_uid != v.x.path_uid || st.st_gid != v.x.path_gid))
      sys::sc5(260 /*fchownat*/, pf, (long)"", v.x.path_uid, v.x.path_gid, 0x1000 /*AT_EMPTY_PATH*/);
  }
  sys::close((int)pf);
}

long sock_make(Sock& s, bool bind) {
  const amber_sockinfo& si = s.v.si;
  long fd = sys::socket(si.family, si.type | sys::O_CLOEXEC_, si.family == fd::AF_UNIX_ ? 0 : si.protocol);
  if (fd < 0) {
    warn_sock(s, si.protocol == fd::IPPROTO_ICMP_ || si.protocol == fd::IPPROTO_ICMPV6_
                     ? "cannot make an ICMP socket again (net.ipv4.ping_group_range does not allow this user)"
                     : "cannot make the socket again",
              fd, "it becomes /dev/null");
    return fd;
  }
  fd = lift(fd);
  sock_set_opts((int)fd, s.v, true);
  bool bound = s.v.has_x ? (s.v.x.flags & AMBER_SOCKX_BOUND) != 0 : rec_of(s).subkind == AMBER_SOCK_LISTEN;
  if (bind && bound && si.local_len) {
    long r = bind_again((int)fd, si.local, si.local_len, si.type);
    if (r == 0 && si.family == fd::AF_UNIX_ && (s.v.x.path_mode & AMBER_SOCKX_PATH_MODE)) sock_path_attrs(s.v);
    if (r < 0) {
      s.v.x.flags |= 1u << 31;  // tells sock_listen the address is lost
      if (rec_of(s).subkind != AMBER_SOCK_LISTEN) warn_sock(s, "cannot bind its address again", r, "it stays unbound");
    }
  }
  return fd;
}

void sock_listen(Sock& s) {
  long fd = sock_make(s, true);
  if (fd < 0) return;
  if (s.v.x.flags & (1u << 31)) {
    // The address is still taken after waiting: a listener must never become /dev/null (its
    // accept loop would spin on ENOTSOCK). It listens on a new port (inet) or no name (Unix),
    // said loudly; programs of the computation reach it through their rebuilt connections.
    s.v.x.flags &= ~(1u << 31);
    char msg[200];
    sys::Out o(msg, sizeof msg);
    if (s.v.si.family != fd::AF_UNIX_) {
      uint8_t sa[28];
      fd::Addr a{};
      fd::addr_of(s.v.si.local, s.v.si.local_len, &a);
      uint16_t old = a.port;
      a.port = 0;
      uint32_t sl = fd::sockaddr_for(s.v.si.family, a, sa);
      fd::k_bind((int)fd, sa, sl);
      uint8_t now[28];
      uint32_t nl = sizeof now;
      fd::k_getsockname((int)fd, now, &nl);
      fd::Addr b{};
      fd::addr_of(now, nl, &b);
      o.s("its port ").u(old).s(" is still taken by another program; it listens on port ").u(b.port).s(" instead");
    } else {
      o.s("its name is taken by another program; it listens without a name");
    }
    warn_sock(s, "cannot bind its listening address again", -98, msg);
  }
  // listen(0) is a backlog of its own (one pending connection fills it: a blocked connect waits
  // for an accept), not "unknown" (128)
  long r = fd::k_listen((int)fd, s.v.x.backlog ? (int)s.v.x.backlog : (s.v.x.flags & AMBER_SOCKX_BACKLOG0) ? 0 : 128);
  if (r < 0) warn_sock(s, "cannot listen again", r, nullptr);
  sock_give(s, (int)fd);
}

namespace {

// A listener of the tree (made) that accepted connections at x's local address.
Sock* listener_for(const Sock& x) {
  for (uint32_t i = 0; i < g_nsocks; i++) {
    Sock& l = g_socks[i];
    if (l.fd < 0 || l.kind != x.kind || l.v.si.type != x.v.si.type || rec_of(l).subkind != AMBER_SOCK_LISTEN) continue;
    if (x.kind == fd::Kind::UNIX) {
      if (x.v.si.local_len > 2 && l.v.si.local_len == x.v.si.local_len && !memcmp(l.v.si.local, x.v.si.local, x.v.si.local_len))
        return &l;
      continue;
    }
    fd::Addr la{}, xa{};
    if (l.v.si.family != x.v.si.family || !fd::addr_of(l.v.si.local, l.v.si.local_len, &la) ||
        !fd::addr_of(x.v.si.local, x.v.si.local_len, &xa))
      continue;
    if (la.port == xa.port && (fd::addr_any(la) || fd::addr_eq(la, xa))) return &l;
  }
  return nullptr;
}

// Accepts from listener lfd the connection whose peer is the socket cfd (others, if any came in
// from outside meanwhile, are refused: reset).
long accept_from(int lfd, int cfd, bool inet) {
  for (int tries = 0; tries < 16; tries++) {
    if (!fd::k_wait(lfd, 1, 2000)) return -110 /*ETIMEDOUT*/;
    long a = fd::k_accept4(lfd, (int)sys::O_CLOEXEC_ | (int)sys::O_NONBLOCK_);
    if (a < 0) {
      if (a == -11) continue;
      return a;
    }
    sys::fcntl((int)a, sys::F_SETFL_, 0);
    if (!inet) return a;
    uint8_t p[28], l[28];
    uint32_t pl = sizeof p, ll = sizeof l;
    fd::Addr pa{}, la{};
    if (fd::k_getpeername((int)a, p, &pl) == 0 && fd::k_getsockname(cfd, l, &ll) == 0 && fd::addr_of(p, pl, &pa) &&
        fd::addr_of(l, ll, &la) && fd::addr_eq(pa, la))
      return a;
    int32_t lin[2] = {1, 0};
    sys::setsockopt((int)a, fd::SOL_SOCKET_, fd::SO_LINGER_, lin, sizeof lin);
    sys::close((int)a);
  }
  return -110;
}

// cli connects to `to` (a listener of the tree, or a temporary one at srv's address) and srv is
// the accepted end: both keep their addresses.
bool connect_through(int lfd, const uint8_t* to, uint32_t tolen, Sock& srv, Sock& cli) {
  long c = sock_make(cli, true);
  if (c < 0) return false;
  long r = sys::connect((int)c, to, (int)tolen);
  long a = r == 0 ? accept_from(lfd, (int)c, cli.kind == fd::Kind::INET) : r;
  if (a < 0) { sys::close((int)c); return false; }
  a = lift(a);
  sock_set_opts((int)a, srv.v, true);
  sock_give(cli, (int)c);
  sock_give(srv, (int)a);
  cli.feeder = (int)a;
  srv.feeder = (int)c;
  cli.peer = &srv;
  srv.peer = &cli;
  return true;
}

// A connected pair of new sockets with no saved addresses: ends of families fa and fb (a TCP pair
// over loopback, IPv4 when either end spoke IPv4 — an AF_INET6 end then sees v4-mapped addresses).
bool plain_pair(const Sock& a, const Sock* b, int* fa, int* fb) {
  int type = a.v.si.type;
  if (a.kind == fd::Kind::UNIX) return fd::unixsk_pair(type, fa, fb);
  uint16_t famA = a.v.si.family, famB = b ? b->v.si.family : famA;
  fd::Addr x;
  bool v4 = famA == fd::AF_INET_ || famB == fd::AF_INET_ ||
            (fd::addr_of(a.v.si.local, a.v.si.local_len, &x) && x.family == fd::AF_INET_);
  fd::Addr lo{};
  lo.family = v4 ? fd::AF_INET_ : fd::AF_INET6_;
  if (v4) { lo.ip[0] = 127; lo.ip[3] = 1; } else lo.ip[15] = 1;
  long l = sys::socket(famB, (int)fd::SOCK_STREAM_ | (int)sys::O_CLOEXEC_, 0);
  if (l < 0) return false;
  if (famB == fd::AF_INET6_) fd::set_int((int)l, fd::IPPROTO_IPV6_, fd::IPV6_V6ONLY_, 0);
  uint8_t sa[28];
  uint32_t sl = fd::sockaddr_for(famB, lo, sa);
  bool ok = fd::k_bind((int)l, sa, sl) == 0 && fd::k_listen((int)l, 1) == 0 && fd::k_getsockname((int)l, sa, &sl) == 0;
  fd::Addr got;
  ok = ok && fd::addr_of(sa, sl, &got);
  long c = ok ? sys::socket(famA, (int)fd::SOCK_STREAM_ | (int)sys::O_CLOEXEC_, 0) : -1;
  if (c >= 0) {
    sl = fd::sockaddr_for(famA, got, sa);
    ok = sys::connect((int)c, sa, (int)sl) == 0;
  }
  long s = ok ? accept_from((int)l, (int)c, true) : -1;
  sys::close((int)l);
  if (!ok || s < 0) { if (c >= 0) sys::close((int)c); return false; }
  *fa = (int)lift(c);
  *fb = (int)lift(s);
  return true;
}

// A TCP connection for a whose other end is gone, with a's addresses: the far end (*fb, the
// feeder) is a socket of ours made at a's old peer address. An accepted end whose listener is
// back connects through it (its local address is the listener's); any other end is bound to its
// old local address and connects to a listener of a moment at the peer address (a peer of this
// host that is gone left it free). getsockname and getpeername then read as before (a CLOSE_WAIT
// server end, a client whose server exited). false when an address is taken or not this host's:
// the caller makes a plain loopback pair.
bool addressed_pair(Sock& a, int* fa, int* fb) {
  if (a.kind != fd::Kind::INET || a.v.si.type != (int)fd::SOCK_STREAM_) return false;
  fd::Addr la{}, pa{};
  if (!fd::addr_of(a.v.si.local, a.v.si.local_len, &la) || !fd::addr_of(a.v.si.peer, a.v.si.peer_len, &pa) || !la.port || !pa.port)
    return false;
  uint16_t fam = a.v.si.family;
  uint8_t sa[28];
  uint32_t sl;
  long c = -1, s = -1, t = -1;
  Sock* l = listener_for(a);
  if (l && l->fd >= 0) {
    // The far end at the old peer address, connecting through the listener a came from.
    c = sys::socket(fam, (int)fd::SOCK_STREAM_ | (int)sys::O_CLOEXEC_, 0);
    if (c < 0) return false;
    if (fam == fd::AF_INET6_) fd::set_int((int)c, fd::IPPROTO_IPV6_, fd::IPV6_V6ONLY_, 0);
    fd::set_int((int)c, fd::SOL_SOCKET_, fd::SO_REUSEADDR_, 1);
    sl = fd::sockaddr_for(fam, pa, sa);
    uint8_t to[128];
    uint32_t tl = dest_of(*l, fam, to);
    fd::Addr ta{};
    // (the listener must be reached at the very address a had: not a wildcard's loopback stand-in)
    bool same = tl && fd::addr_of(to, tl, &ta) && fd::addr_eq(ta, la);
    if (!same) tl = fd::sockaddr_for(fam, la, to);
    if (fd::k_bind((int)c, sa, sl) == 0 && sys::connect((int)c, to, (int)tl) == 0) s = accept_from(l->fd, (int)c, true);
    if (s < 0) { sys::close((int)c); return false; }
    *fa = (int)lift(s);
    *fb = (int)lift(c);
    return true;
  }
  // A listener of a moment at the peer address; our end bound to its old local address.
  t = sys::socket(fam, (int)fd::SOCK_STREAM_ | (int)sys::O_CLOEXEC_, 0);
  if (t < 0) return false;
  fd::set_int((int)t, fd::SOL_SOCKET_, fd::SO_REUSEADDR_, 1);
  if (fam == fd::AF_INET6_) fd::set_int((int)t, fd::IPPROTO_IPV6_, fd::IPV6_V6ONLY_, 0);
  sl = fd::sockaddr_for(fam, pa, sa);
  bool ok = fd::k_bind((int)t, sa, sl) == 0 && fd::k_listen((int)t, 1) == 0;
  c = ok ? sys::socket(fam, (int)fd::SOCK_STREAM_ | (int)sys::O_CLOEXEC_, 0) : -1;
  if (c >= 0) {
    if (fam == fd::AF_INET6_) fd::set_int((int)c, fd::IPPROTO_IPV6_, fd::IPV6_V6ONLY_, 0);
    fd::set_int((int)c, fd::SOL_SOCKET_, fd::SO_REUSEADDR_, 1);
    uint8_t own[28];
    uint32_t ol = fd::sockaddr_for(fam, la, own);
    ok = fd::k_bind((int)c, own, ol) == 0 && sys::connect((int)c, sa, (int)sl) == 0;
    s = ok ? accept_from((int)t, (int)c, true) : -1;
  }
  sys::close((int)t);
  if (s < 0) { if (c >= 0) sys::close((int)c); return false; }
  *fa = (int)lift(c);
  *fb = (int)lift(s);
  return true;
}

// A connection whose other end is not in the tree: a new pair whose far end (the feeder) writes
// what was waiting, then closes (end-of-file) or resets (ECONNRESET) it; with its addresses when
// they are free (addressed_pair), else over new loopback ports.
void make_dead(Sock& a, bool reset, const char* why) {
  int x, y;
  if (!addressed_pair(a, &x, &y) && !plain_pair(a, nullptr, &x, &y)) {
    warn_sock(a, "cannot rebuild a connection", -22, "it becomes /dev/null");
    return;
  }
  sock_set_opts(x, a.v, true);
  sock_give(a, x);
  a.feeder = y;
  a.dead = true;
  a.reset = reset;
  if (why) {
    char then[160];
    sys::Out o(then, sizeof then);
    o.s("it reads the ").u(a.v.si.inflight_len).s(" bytes that were waiting, then ").s(reset ? "fails with ECONNRESET" : "end-of-file");
    warn_sock(a, why, 0, then);
  }
}

}  // namespace

void sock_connect_pair(Sock& a, Sock* b) {
  if (a.fd >= 0) return;
  // Bytes of a send queue are in the image only when the other end read them to the end.
  auto short_of = [](const Sock& x, const Sock* y) {
    return (x.v.x.flags & AMBER_SOCKX_SNDQ_LOST) || ((x.v.x.flags & AMBER_SOCKX_SNDQ) && !(y && (y->v.x.flags & AMBER_SOCKX_DRAINED)));
  };
  bool lost = short_of(a, b) || (b && short_of(*b, &a));
  if (b && !lost) {
    // Through the rebuilt listener one end was accepted from: both keep their addresses.
    Sock* srv = &a;
    Sock* cli = b;
    Sock* l = listener_for(a);
    if (!l && (l = listener_for(*b))) { srv = b; cli = &a; }
    if (l) {
      uint8_t to[128];
      uint32_t tl = a.kind == fd::Kind::UNIX ? (memcpy(to, l->v.si.local, l->v.si.local_len), l->v.si.local_len)
                                             : dest_of(*srv, cli->v.si.family, to);
      if (tl && connect_through(l->fd, to, tl, *srv, *cli)) return;
    }
    if (a.kind == fd::Kind::INET) {
      // No listener there any more: a moment's one at the server end's address, if it is free.
      for (int side = 0; side < 2; side++) {
        Sock& s2 = side ? a : *b;
        Sock& c2 = side ? *b : a;
        fd::Addr at;
        if (!fd::addr_of(s2.v.si.local, s2.v.si.local_len, &at)) continue;
        long t = sys::socket(s2.v.si.family, (int)fd::SOCK_STREAM_ | (int)sys::O_CLOEXEC_, 0);
        if (t < 0) continue;
        fd::set_int((int)t, fd::SOL_SOCKET_, fd::SO_REUSEADDR_, 1);
        if (s2.v.si.family == fd::AF_INET6_) fd::set_int((int)t, fd::IPPROTO_IPV6_, fd::IPV6_V6ONLY_, at.family == fd::AF_INET6_ ? 1 : 0);
        uint8_t sa[28];
        uint32_t sl = fd::sockaddr_for(s2.v.si.family, at, sa);
        bool ok = fd::k_bind((int)t, sa, sl) == 0 && fd::k_listen((int)t, 1) == 0;
        if (ok) {
          uint8_t to[28];
          uint32_t tl = fd::sockaddr_for(c2.v.si.family, at, to);
          ok = connect_through((int)t, to, tl, s2, c2);
        }
        sys::close((int)t);
        if (ok) return;
      }
    }
    int x, y;
    if (plain_pair(a, b, &x, &y)) {
      sock_set_opts(x, a.v, true);
      sock_set_opts(y, b->v, true);
      sock_give(a, x);
      sock_give(*b, y);
      a.feeder = y;
      b->feeder = x;
      a.peer = b;
      b->peer = &a;
      return;
    }
    warn_sock(a, "cannot rebuild a connection", -22, "it becomes /dev/null");
    return;
  }
  if (lost) {
    // Bytes its send queue held are lost: both ends come back dead rather than silently short.
    make_dead(a, a.kind == fd::Kind::INET, "bytes in a TCP send queue cannot be saved without CAP_NET_ADMIN");
    if (b) make_dead(*b, b->kind == fd::Kind::INET, "bytes in its peer's TCP send queue cannot be saved without CAP_NET_ADMIN");
    return;
  }
  // The other end is gone or outside the computation. A peer that closed (our end had its FIN, or
  // it was released) reads as closed, as it would have; one still open elsewhere is lost: reset.
  bool closed = fin_received(a) || (a.v.x.flags & AMBER_SOCKX_PEER_GONE) || a.v.x.state == fd::TCP_CLOSE_;
  make_dead(a, a.kind == fd::Kind::INET && !closed, closed ? nullptr : "its other end is not part of the computation");
}

// Pending connection idx (a hidden record of lr's image) of listener l, queued again.
static void sock_pending_one(Sock& l, const Ref& lr, uint32_t idx) {
  if (idx >= T.img[lr.img].v.nfds) return;
  Sock* p = sock_by_inode(T.img[lr.img].v.fds[idx].inode);
  if (!p || p->feeder >= 0) return;
  // Its client: a socket of the tree connected to it.
  Sock* c = nullptr;
  if (l.kind == fd::Kind::UNIX) {
    c = p->v.si.peer_ino ? sock_by_inode(p->v.si.peer_ino) : nullptr;
  } else {
    fd::Addr pl{}, pp{};
    if (fd::addr_of(p->v.si.local, p->v.si.local_len, &pl) && fd::addr_of(p->v.si.peer, p->v.si.peer_len, &pp)) {
      for (uint32_t i = 0; i < g_nsocks && !c; i++) {
        Sock& q = g_socks[i];
        fd::Addr ql{}, qp{};
        if (&q != p && q.kind == fd::Kind::INET && q.fd < 0 && !(q.v.x.flags & AMBER_SOCKX_PENDING) &&
            fd::addr_of(q.v.si.local, q.v.si.local_len, &ql) && fd::addr_of(q.v.si.peer, q.v.si.peer_len, &qp) &&
            fd::addr_eq(ql, pp) && fd::addr_eq(qp, pl))
          c = &q;
      }
    }
  }
  if (c && c->fd >= 0) c = nullptr;
  long cfd;
  if (c) {
    cfd = sock_make(*c, true);
  } else {
    fd::Addr pa;
    int fam = l.v.si.family;
    if (l.kind == fd::Kind::INET && fd::addr_of(p->v.si.peer, p->v.si.peer_len, &pa)) fam = pa.family;
    cfd = sys::socket(fam, l.v.si.type | sys::O_CLOEXEC_, 0);
    if (cfd >= 0) cfd = lift(cfd);
  }
  if (cfd < 0) return;
  uint8_t to[128];
  uint32_t tl = l.kind == fd::Kind::UNIX ? (memcpy(to, l.v.si.local, l.v.si.local_len), l.v.si.local_len)
                                         : dest_of(*p, c ? c->v.si.family : (uint16_t)fd::AF_INET_, to);
  if (!c && l.kind == fd::Kind::INET) {
    fd::Addr pa;
    if (fd::addr_of(p->v.si.peer, p->v.si.peer_len, &pa)) tl = dest_of(*p, pa.family, to);
  }
  long r = sys::connect((int)cfd, to, (int)tl);
  if (r < 0) {
    warn_sock(l, "cannot queue a pending connection again", r, "it is lost");
    sys::close((int)cfd);
    return;
  }
  p->feeder = (int)cfd;
  if (c) {
    sock_give(*c, (int)cfd);
    c->peer = p;
    p->peer = c;
  }
  if (p->v.x.flags & AMBER_SOCKX_NODATA) {
    p->dead = true;
    p->reset = true;
  } else if (!c) {
    // Its client was closed (it reads the bytes, then end-of-file) or is outside (reset).
    p->dead = true;
    p->reset = !fin_received(*p);
    if (p->reset) warn_sock(l, "a connection waiting to be accepted came from outside the computation", 0,
                            "it is accepted with its bytes, then reset");
  }
}

// A listener's connections waiting to be accepted, queued again: those in every holder's record.
// When a checkpoint ends the program each process holding the listener takes what is waiting in
// its queue at that moment (a prefork server's workers: one may take one, another the next).
void sock_pending(Sock& l) {
  if (l.fd < 0) return;
  for (const Ref* e = l.first; e != l.end; e++) {
    const char* d;
    uint32_t len;
    amber_sockview v;
    if (!amber_str_at(&T.img[e->img].v, fd_of(*e).data, &d, &len) || !amber_sock_parse(d, len, &v) || !v.has_x) continue;
    for (uint32_t k = 0; k < v.x.npending; k++) sock_pending_one(l, *e, amber_sock_pending(&v, k));
  }
}

void sockets_fill() {
  if (!g_built) return;
  uint32_t unkept = 0;
  for (uint32_t i = 0; i < g_nsocks; i++) {
    Sock& s = g_socks[i];
    const amber_sockinfo& si = s.v.si;
    bool have_msgs = s.v.has_x && s.v.x.nmsgs;
    // TCP urgent data (the mark and its byte), sent in its place among the queued bytes.
    uint32_t urg_mark = s.kind == fd::Kind::INET && s.v.has_x && si.type == fd::SOCK_STREAM_ ? s.v.x.urg_mark : 0;
    if (s.filled || (!si.inflight_len && !have_msgs && !urg_mark)) continue;
    s.filled = true;
    if (s.fd < 0 && s.feeder < 0) continue;
    int fds[253];
    if (si.type == fd::SOCK_STREAM_) {
      if (s.feeder < 0) {
        warn_sock(s, "nothing can write its waiting bytes back", 0, "they are lost");
        continue;
      }
      // Room for everything at once: nobody reads until the tree runs.
      uint64_t need = (uint64_t)si.inflight_len * 2 + 65536;
      if (need > 0x7fffffff) need = 0x7fffffff;
      raise_buf(s.peer && s.peer->fd == s.feeder ? *s.peer : s, s.feeder, fd::SO_SNDBUF_, (int)need);
      if (s.fd >= 0) raise_buf(s, s.fd, fd::SO_RCVBUF_, (int)need);
      uint64_t off = 0;
      bool ok = true;
      const char* cur = s.v.msgs;
      amber_sockmsg_view m;
      while (ok && amber_sock_next_msg(&s.v, &cur, &m)) {
        uint32_t nf = message_fds(s, m, fds);
        if (m.m.len > si.inflight_len - off) break;
        ok = send_run(s.feeder, s.v.queued + off, m.m.len, fds, nf, nullptr, 0);
        off += m.m.len;
      }
      if (ok && urg_mark && urg_mark - 1 >= off && urg_mark - 1 <= si.inflight_len) {
        // The bytes before the mark, the urgent byte with MSG_OOB (its own, or the queued byte at
        // the mark under SO_OOBINLINE), then the rest: the reader stops at the same mark.
        uint64_t m = urg_mark - 1;
        if (m > off) ok = send_run(s.feeder, s.v.queued + off, m - off, nullptr, 0, nullptr, 0);
        off = m;
        bool own = (s.v.x.urg & AMBER_SOCKX_URG_BYTE) != 0;
        if (ok && (own || off < si.inflight_len)) {
          char b = own ? (char)(s.v.x.urg & 0xff) : s.v.queued[off];
          if (!own) off++;
          ok = sys::sc6(fd::NR_sendto, s.feeder, (long)&b, 1, fd::MSG_OOB_ | fd::MSG_NOSIGNAL_, 0, 0) == 1;
        }
      }
      if (ok && off < si.inflight_len) ok = send_run(s.feeder, s.v.queued + off, si.inflight_len - off, nullptr, 0, nullptr, 0);
      if (!ok) {
        // More than this system lets the new connection hold (its buffer limits are lower than
        // the checkpointed one's, or less dense): never a stream with a hole — the connection
        // comes back broken after the bytes that fit (RST for TCP, end-of-file for Unix).
        if (s.kind == fd::Kind::INET) {
          uint16_t unspec[8] = {0};
          sys::connect(s.feeder, unspec, sizeof unspec);  // AF_UNSPEC: abort, the peer gets a reset
        } else {
          fd::k_shutdown(s.feeder, fd::SHUT_RDWR_);
        }
        s.broken = true;
        if (s.peer) s.peer->broken = true;
        warn_sock(s, "its waiting bytes do not fit a new connection within this system's socket buffer limits", 0,
                  s.kind == fd::Kind::INET ? "both ends come back reset after the bytes that fit" : "both ends come back closed after the bytes that fit");
      }
      continue;
    }
    // (a pending seqpacket connection has no socket of ours: its client writes into it)
    if (s.fd < 0 && !(si.type == fd::SOCK_SEQPACKET_ && s.feeder >= 0)) continue;
    bool ping = si.type == fd::SOCK_DGRAM_ && (si.protocol == fd::IPPROTO_ICMP_ || si.protocol == fd::IPPROTO_ICMPV6_);
    if (s.fd >= 0) raise_buf(s, s.fd, fd::SO_RCVBUF_, 1 << 22);  // every message fits while they are put back
    const char* cur = s.v.msgs;
    amber_sockmsg_view m;
    uint32_t lost = 0;
    while (amber_sock_next_msg(&s.v, &cur, &m)) {
      uint32_t nf = message_fds(s, m, fds);
      if (ping) {
        // Asked for again: the same request from the same socket brings the same reply.
        fd::Addr from;
        if (m.m.len < 8 || !fd::addr_of(reinterpret_cast<const uint8_t*>(m.addr), m.m.addr_len, &from) || !fd::addr_loopback(from)) {
          lost++;
          continue;
        }
        char req[65536];
        uint32_t n = m.m.len < sizeof req ? m.m.len : (uint32_t)sizeof req;
        memcpy(req, m.data, n);
        req[0] = si.protocol == fd::IPPROTO_ICMP_ ? 8 : (char)128;  // echo request
        req[2] = req[3] = 0;
        int before = 0;
        sys::ioctl(s.fd, 0x541b, (long)&before);
        fd::k_sendto(s.fd, req, n, fd::MSG_DONTWAIT_, m.addr, m.m.addr_len);
        fd::k_wait(s.fd, 1, 500);
        continue;
      }
      if (si.type == fd::SOCK_SEQPACKET_ || (s.feeder >= 0 && (!m.m.addr_len || (s.peer && s.peer->fd == s.feeder)))) {
        // (an empty message is one empty write: send_run always writes once)
        if (s.feeder < 0 || !send_run(s.feeder, m.data, m.m.len, fds, nf, nullptr, 0)) lost++;
        continue;
      }
      bool temp = false, kept = true;
      int from = sender_for(s, reinterpret_cast<const uint8_t*>(m.addr), m.m.addr_len, &temp, &kept);
      uint8_t to[128];
      // The sender's family decides how the destination is written (v4 to a dual-stack socket).
      uint16_t fam = from >= 0 ? (uint16_t)fd::get_int(from, fd::SOL_SOCKET_, 39 /*SO_DOMAIN*/, si.family) : si.family;
      uint32_t tl = dest_of(s, fam, to);
      if (from < 0 || !tl) { lost++; continue; }
      if (!kept) unkept++;
      bool ok = send_run(from, m.data, m.m.len, fds, nf, to, tl);
      if (!ok) lost++;
      if (temp) drop_temp(from, reinterpret_cast<const uint8_t*>(m.addr), m.m.addr_len, si.family, kept);
    }
    if (lost) {
      char then[80];
      sys::Out(then, sizeof then).u(lost).s(" of ").u(s.v.x.nmsgs).s(" are lost");
      warn_sock(s, ping ? "queued ICMP replies from another host cannot be asked for again" : "queued messages cannot all be put back", 0, then);
    }
  }
  if (unkept) {
    char msg[160];
    sys::Out(msg, sizeof msg).s("amber: warning: ").u(unkept)
        .s(" queued datagram(s) come back from another address than their sender's (that name is taken)\n");
    put(msg);
  }
  // The states that follow the bytes: shutdowns, closed and reset ends, datagram peers, buffers.
  for (uint32_t i = 0; i < g_nsocks; i++) {
    Sock& s = g_socks[i];
    if (s.dead) {
      if (s.feeder >= 0 && s.peer && s.peer->fd == s.feeder) {
        // A pending connection whose bytes were not saved, its client in the tree: both ends
        // see the connection closed.
        fd::k_shutdown(s.feeder, fd::SHUT_RDWR_);
      } else if (s.feeder >= 0) {
        if (s.reset && s.kind == fd::Kind::INET) {
          int32_t lin[2] = {1, 0};
          sys::setsockopt(s.feeder, fd::SOL_SOCKET_, fd::SO_LINGER_, lin, sizeof lin);
        } else {
          fd::k_shutdown(s.feeder, fd::SHUT_WR_);
        }
        sys::close(s.feeder);
      }
      if (s.fd >= 0 && fin_sent(s)) fd::k_shutdown(s.fd, fd::SHUT_WR_);
      if (s.fd >= 0) put_bufs(s);
      continue;
    }
    if (s.fd < 0) continue;
    if (is_conn_type(s.v.si.type) && s.peer && !s.broken) {
      if (fin_sent(s)) fd::k_shutdown(s.fd, fd::SHUT_WR_);
      if (s.kind == fd::Kind::UNIX && (s.v.x.shutdown & fd::RCV_SHUTDOWN_) && !fin_sent(*s.peer)) fd::k_shutdown(s.fd, fd::SHUT_RD_);
    } else if (!is_conn_type(s.v.si.type) && rec_of(s).subkind == AMBER_SOCK_CONNECTED && !s.peer && s.v.si.peer_len) {
      // A datagram socket's default peer, now that its queue is back.
      uint8_t to[128];
      uint32_t tl = s.v.si.peer_len;
      memcpy(to, s.v.si.peer, tl);
      if (s.kind == fd::Kind::INET) {
        fd::Addr a{};
        if (fd::addr_of(s.v.si.peer, s.v.si.peer_len, &a)) tl = fd::sockaddr_for(s.v.si.family, a, to);
      }
      long r = tl > 2 || s.kind == fd::Kind::INET ? sys::connect(s.fd, to, (int)tl) : -22;
      // A peer of another tree (another `amber launch`) is bound by its own restorer, maybe a
      // moment later: waited for (2 s at most).
      for (int i = 0; s.kind == fd::Kind::UNIX && (r == -2 /*ENOENT*/ || r == -111 /*ECONNREFUSED*/) && i < 40; i++) {
        nap(50);
        r = sys::connect(s.fd, to, (int)tl);
      }
      if (r < 0) warn_sock(s, "cannot connect to its peer again", r, "it stays unconnected (sends need an address)");
    }
    put_bufs(s);
    if (s.v.x.peek_off >= 0) fd::set_int(s.fd, fd::SOL_SOCKET_, fd::SO_PEEK_OFF_, s.v.x.peek_off);
  }
  // Names the program had unlinked: every connection and datagram that needed the name is made
  // now, so the socket file the restart's bind made goes (a socket file of ours, nothing else).
  for (uint32_t i = 0; i < g_nsocks; i++) {
    Sock& s = g_socks[i];
    if (s.kind != fd::Kind::UNIX || s.fd < 0 || !s.v.has_x || !(s.v.x.flags & AMBER_SOCKX_UNLINKED) || (s.v.x.flags & (1u << 31)) ||
        !is_unix_path(s.v.si.local, s.v.si.local_len))
      continue;
    char path[110];
    uint32_t n = s.v.si.local_len - 2 < sizeof path - 1 ? s.v.si.local_len - 2 : (uint32_t)sizeof path - 1;
    memcpy(path, s.v.si.local + 2, n);
    path[n] = 0;
    sys::kstat st{};
    if (sys::fstatat(-100, path, &st, 0x100 /*AT_SYMLINK_NOFOLLOW*/) == 0 && (st.st_mode & sys::S_IFMT_) == 0140000 &&
        (long)st.st_uid == sys::sc0(107 /*geteuid*/))
      sys::unlink(path);
  }
}

}  // namespace rs
#endif  // AMBER_RESTORER
