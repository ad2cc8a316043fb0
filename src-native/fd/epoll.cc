// epoll instances (AMBER_FD_ANON, subkind EPOLL; extra = n, data = n amber_epoll_entry (target
// descriptor, events, user data) then n amber_epoll_target (the target's inode, the number it was
// added with, its state)). Images before 1.4: the entries only.
//
// Capture: the interest list from fdinfo (every entry; the list has no cap but the image's string
// space). An entry is keyed by the open file and the number it was added with ("tfd"), and that
// number may since have been closed or dup2'd over: the entry's target is found again by its inode
// among the process's descriptors, and the descriptor that holds it now is the one the restart
// adds. An entry whose file no descriptor of the process holds any more cannot be added again:
// named at checkpoint.
//
// Which edge-triggered events were still pending (ready, not yet collected by epoll_wait) is not
// shown anywhere; the capture collects them itself with epoll_wait(0) and at once gives back what
// that changed: EPOLL_CTL_MOD with the same events puts a collected edge-triggered or one-shot
// entry back on the ready list and re-arms the one-shot. (An EPOLLEXCLUSIVE entry refuses MOD, and
// an entry whose number was dup2'd over cannot be named to MOD: then the epoll is not probed and
// every edge-triggered entry counts as pending, which can only mean one event too many after a
// restart, never one too few.) A one-shot entry that already fired shows no events: it is disarmed.
//
// Restore: a new epoll instance; once every descriptor of the process is back (finish), the
// entries are added again in two rounds so that the ready list is the same: first the entries
// whose event must not be reported (edge-triggered with nothing pending, disarmed one-shots),
// after which epoll_wait(0) collects whatever adding them made ready; then every other entry
// (level-triggered ones report what is ready, pending edge-triggered ones fire once, armed one-shots
// fire when ready). Nested epolls are set up inner first. A disarmed one-shot entry comes back
// armed for EPOLLERR/EPOLLHUP only (the kernel adds those to every entry): it reports a hang-up
// the original would have kept quiet about.
//
// One epoll instance held by several descriptors (dup'ed, or inherited over fork: a supervisor and
// its workers) is one instance again: the coordinator's --share groups (addon/shares.cc, kcmp) name
// them, prepare makes the instance once before the fork, and every process that holds it adds the
// entries whose targets it holds (each image lists the whole interest list; an entry the process
// cannot name, e.g. one only another process holds, is left to that process; the same file under
// the same number added twice is EEXIST). The processes take turns (a token in a pipe made before
// the fork), and only the first, which finds the interest list empty, collects what its first
// round made ready: a later one would also collect the events the earlier ones made pending. A
// pending entry that is already there (EEXIST: another process added it, maybe as quiet, since
// concurrent captures may each have seen the other's probe) is modified with its own events,
// which makes it pending again. What is left: a quiet edge-triggered entry only a later process
// holds may report one event too many — never one too few.
// (Limit: a target held by two processes under different numbers comes back as two entries.)
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
namespace {
constexpr uint32_t kEt = 1u << 31, kOneshot = 1u << 30, kWakeup = 1u << 29, kExclusive = 1u << 28;
constexpr uint32_t kPrivate = kEt | kOneshot | kWakeup | kExclusive;

const char* skip(const char* p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}
uint64_t st_dev_of(uint64_t sdev) {
  uint64_t major = sdev >> 20, minor = sdev & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffull) << 12);
}
// Does descriptor fd hold the file epoll epfd has an entry for under number tfd? kcmp says exactly
// (KCMP_EPOLL_TFD: every eventfd, timerfd, signalfd... shares one anonymous inode, so an inode
// alone cannot tell them apart); without kcmp (ENOSYS, EPERM), the inode must do.
int g_kcmp = 1;  // -1 once kcmp turned out unavailable
bool holds(int fd, int epfd, int32_t tfd, uint64_t dev, uint64_t ino) {
  sys::kstat st{};
  if (sys::fstat(fd, &st) != 0 || st.st_ino != ino || st.st_dev != dev) return false;
  if (g_kcmp < 0) return true;
  struct { uint32_t efd, tfd, toff; } slot = {(uint32_t)epfd, (uint32_t)tfd, 0};
  long self = sys::getpid();
  long r = sys::sc5(sys::NR_kcmp, self, self, 7 /*KCMP_EPOLL_TFD*/, fd, (long)&slot);
  if (r == -38 /*ENOSYS*/ || r == -1 /*EPERM*/) { g_kcmp = -1; return true; }
  return r == 0;
}
}  // namespace

void epoll_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_EPOLL;
  uint32_t n = 0;
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "tfd:")) n++;
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  const size_t esz = sizeof(amber_epoll_entry), tsz = sizeof(amber_epoll_target);
  char* out = c.str.reserve(n * (esz + tsz));
  if (!out) return;  // the capture fails: the string space is full
  uint32_t k = 0;
  bool probe = true;
  for (const char* p = c.info; *p && k < n;) {
    if (sys::sstarts(p, "tfd:")) {
      amber_epoll_entry e{};
      amber_epoll_target t{};
      uint64_t ino = 0, sdev = 0;
      p = skip(p + 4);
      e.tfd = (int32_t)sys::parse_u(&p, 10);
      p = skip(p);
      if (sys::sstarts(p, "events:")) { p = skip(p + 7); e.events = (uint32_t)sys::parse_u(&p, 16); }
      p = skip(p);
      if (sys::sstarts(p, "data:")) { p = skip(p + 5); e.data = sys::parse_u(&p, 16); }
      p = skip(p);
      if (sys::sstarts(p, "pos:")) { p = skip(p + 4); sys::parse_u(&p, 10); }
      p = skip(p);
      if (sys::sstarts(p, "ino:")) { p = skip(p + 4); ino = sys::parse_u(&p, 16); }
      p = skip(p);
      if (sys::sstarts(p, "sdev:")) { p = skip(p + 5); sdev = sys::parse_u(&p, 16); }
      t.inode = ino;
      t.dev = st_dev_of(sdev);
      t.added_fd = e.tfd;
      if ((e.events & kOneshot) && !(e.events & ~kPrivate)) t.flags |= AMBER_EPOLL_DISARMED;
      // Who holds the target now: the number it was added with, or another one.
      if (!holds(e.tfd, f.fd, t.added_fd, t.dev, t.inode)) {
        e.tfd = -1;
        for (uint32_t i = 0; i < c.nfdlist && e.tfd < 0; i++)
          if (holds(c.fdlist[i], f.fd, t.added_fd, t.dev, t.inode)) e.tfd = c.fdlist[i];
        if (e.tfd < 0)
          c.limit(f, "has an epoll entry for a file the process holds no descriptor of: that entry comes back only if another process sharing the epoll instance holds the file");
      }
      // An entry the probe could change and MOD could not give back: no probe.
      if ((e.events & (kEt | kOneshot)) && !(t.flags & AMBER_EPOLL_DISARMED) && (e.tfd != t.added_fd || (e.events & kExclusive)))
        probe = false;
      __builtin_memcpy(out + k * esz, &e, esz);  // the string space is only byte aligned
      __builtin_memcpy(out + n * esz + k * tsz, &t, tsz);
      k++;
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  n = k;
  // What is pending: collected, then given back (see above).
  if (n && probe) {
    struct __attribute__((packed)) Ev { uint32_t events; uint64_t data; };
    Ev* got = static_cast<Ev*>(c.a.take(sizeof(Ev) * n));
    long m = got ? sys::sc4(sys::NR_epoll_wait, f.fd, (long)got, n, 0) : -12;
    for (long j = 0; j < m; j++) {
      for (uint32_t i = 0; i < n; i++) {
        amber_epoll_entry e;
        amber_epoll_target t;
        __builtin_memcpy(&e, out + i * esz, esz);
        __builtin_memcpy(&t, out + n * esz + i * tsz, tsz);
        if (e.data != got[j].data || (t.flags & AMBER_EPOLL_DISARMED)) continue;
        t.flags |= AMBER_EPOLL_PENDING;
        __builtin_memcpy(out + n * esz + i * tsz, &t, tsz);
        if (!(e.events & (kEt | kOneshot))) continue;  // level-triggered: back on the list by itself
        Ev again{e.events, e.data};
        sys::sc4(sys::NR_epoll_ctl, f.fd, 3 /*EPOLL_CTL_MOD*/, e.tfd, (long)&again);
      }
    }
  } else if (n) {
    for (uint32_t i = 0; i < n; i++) {
      amber_epoll_target t;
      __builtin_memcpy(&t, out + n * esz + i * tsz, tsz);
      t.flags |= AMBER_EPOLL_PENDING;
      __builtin_memcpy(out + n * esz + i * tsz, &t, tsz);
    }
  }
  if (k < n) __builtin_memmove(out + k * esz, out + n * esz, k * tsz);  // (k == n: every tfd line parsed)
  f.extra = k;
  f.data = c.str.add(out, k * (esz + tsz));
}
bool epoll_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(epoll)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace {
constexpr uint32_t kEt = 1u << 31, kOneshot = 1u << 30;
struct __attribute__((packed)) Ev { uint32_t events; uint64_t data; };

bool is_epoll(const amber_fd& f) { return f.kind == AMBER_FD_ANON && f.subkind == AMBER_ANON_EPOLL; }

// The entries of epoll f: n, and where its entries and (1.4) targets are.
uint32_t entries_of(const amber_view& v, const amber_fd& f, const char** ents, const char** tgts) {
  const char* d;
  uint32_t len;
  *ents = *tgts = nullptr;
  if (!amber_str_at(&v, f.data, &d, &len)) return 0;
  const uint32_t esz = sizeof(amber_epoll_entry), tsz = sizeof(amber_epoll_target);
  *ents = d;
  if (f.extra && (uint64_t)f.extra * (esz + tsz) == len) {
    *tgts = d + f.extra * esz;
    return (uint32_t)f.extra;
  }
  return len / esz;
}

// Entry i of epoll f goes in the first round (its event must not be reported)?
bool quiet(const amber_epoll_entry& e, const amber_epoll_target* t) {
  if (!t) return false;
  if (t->flags & AMBER_EPOLL_DISARMED) return true;
  return (e.events & kEt) && !(e.events & kOneshot) && !(t->flags & AMBER_EPOLL_PENDING);
}

void add(const amber_fd& f, const amber_epoll_entry& e, bool pending) {
  if (e.tfd < 0) return;  // its file is gone from the process (named at checkpoint), or another's
  Ev ev{e.events, e.data};
  long r = sys::sc4(sys::NR_epoll_ctl, f.fd, 1 /*EPOLL_CTL_ADD*/, e.tfd, (long)&ev);
  // EEXIST: the same file under the same number twice (a shared instance: see above).
  if (r == -17 && pending) r = sys::sc4(sys::NR_epoll_ctl, f.fd, 3 /*EPOLL_CTL_MOD*/, e.tfd, (long)&ev);
  if (r < 0 && r != -17) {
    char what[120];
    sys::Out(what, sizeof what).s("cannot add descriptor ").i(e.tfd).s(" to its epoll again");
    rs::warn_fd(what, f, r, "that entry is lost");
  }
}

// The saved descriptor numbered fd, or null.
const amber_fd* fd_named(const amber_view& v, int32_t fd) {
  for (uint32_t i = 0; i < v.nfds; i++)
    if (v.fds[i].fd == fd) return &v.fds[i];
  return nullptr;
}

// How deep epoll f nests other epolls (0: none of its targets is an epoll).
constexpr int kMaxDepth = 6;
int depth(const amber_view& v, const amber_fd& f, int level) {
  if (level >= kMaxDepth) return kMaxDepth;
  const char *ents, *tgts;
  uint32_t n = entries_of(v, f, &ents, &tgts);
  int d = 0;
  for (uint32_t k = 0; k < n; k++) {
    amber_epoll_entry e;
    memcpy(&e, ents + k * sizeof e, sizeof e);
    const amber_fd* t = e.tfd >= 0 ? fd_named(v, e.tfd) : nullptr;
    if (t && t != &f && is_epoll(*t)) {
      int dt = 1 + depth(v, *t, level + 1);
      if (dt > d) d = dt;
    }
  }
  return d;
}

// Does epoll fd have no entry yet (its fdinfo lists none)? Unknown counts as no.
bool list_empty(int fd) {
  char path[48], buf[512];
  sys::Out(path, sizeof path).s("/proc/thread-self/fdinfo/").i(fd);
  long in = sys::open(path, sys::O_RDONLY_ | sys::O_CLOEXEC_, 0);
  if (in < 0) return false;
  long n = sys::read((int)in, buf, sizeof buf);  // the first entry comes within the first lines
  sys::close((int)in);
  if (n <= 0) return false;
  for (long i = 0; i + 4 <= n; i++)
    if ((i == 0 || buf[i - 1] == '\n') && buf[i] == 't' && buf[i + 1] == 'f' && buf[i + 2] == 'd' && buf[i + 3] == ':') return false;
  return true;
}

void setup(const amber_view& v, const amber_fd& f, bool shared) {
  const char *ents, *tgts;
  uint32_t n = entries_of(v, f, &ents, &tgts);
  char token = 0;
  bool gated = shared && rs::T.epoll_gate_r1 > 0;
  if (gated)
    while (sys::read(rs::T.epoll_gate_r1 - 1, &token, 1) == -4 /*EINTR*/) {}
  bool collect = !shared || (gated && list_empty(f.fd));
  for (int round = 0; round < 2; round++) {
    for (uint32_t k = 0; k < n; k++) {
      amber_epoll_entry e;
      amber_epoll_target t;
      memcpy(&e, ents + k * sizeof e, sizeof e);
      if (tgts) memcpy(&t, tgts + k * sizeof t, sizeof t);
      if (quiet(e, tgts ? &t : nullptr) == (round == 0)) add(f, e, round == 1);
    }
    if (round || !collect) continue;
    // Collect what the first round made ready: those events were consumed before the checkpoint.
    Ev got[64];
    while (sys::sc4(sys::NR_epoll_wait, f.fd, (long)got, 64, 0) == 64) {}
  }
  if (gated) sys::write(rs::T.epoll_gate_w1 - 1, &token, 1);
}
}  // namespace

namespace fd {
AMBER_FD_NO_CHECK(epoll)

// Each --share group of epoll descriptors: one instance, made before the fork (see above).
void epoll_prepare() {
  using namespace rs;
  for (uint32_t i = 0; i < T.nshare;) {
    uint32_t g = T.share[i].grp, end = i;
    while (end < T.nshare && T.share[end].grp == g) end++;
    long made = -1;
    for (uint32_t k = i; k < end; k++) {
      const ShareFd& s = T.share[k];
      int idx = s.img < T.n ? find_fd(s.img, s.fd) : -1;
      if (idx < 0 || !is_epoll(T.img[s.img].v.fds[idx]) || T.img[s.img].prep[idx] >= 0) continue;
      if (made < 0) made = lift(sys::sc1(sys::NR_epoll_create1, sys::O_CLOEXEC_));
      if (made < 0) break;  // each makes its own at restore, as without the group
      assign(s.img, (uint32_t)idx, made);
    }
    settle();
    i = end;
    if (made >= 0 && !T.epoll_gate_r1) {
      int gate[2];
      long r = sys::pipe2(gate, sys::O_CLOEXEC_);
      long gr = r < 0 ? r : lift(gate[0]), gw = r < 0 ? r : lift(gate[1]);
      // Without the gate each process sets the instance up on its own and none collects (see above).
      if (gr >= 0 && gw >= 0 && sys::write((int)gw, "t", 1) == 1) {
        T.epoll_gate_r1 = (int32_t)gr + 1;
        T.epoll_gate_w1 = (int32_t)gw + 1;
      }
    }
  }
}

long epoll_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  return rs::lift(sys::sc1(sys::NR_epoll_create1, (f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0));  // interest list: finish
}

// Inner epolls first (an outer one's first round would otherwise collect readiness an inner one
// gains only later): by nesting depth, which the kernel bounds (EP_MAX_NESTS, 4) and keeps free of
// loops. No scratch memory: depths are computed again where needed (stage 3 has no allocator).
void epoll_finish(rs::Proc& p) {
  const amber_view& v = *p.v;
  for (int d = 0; d <= kMaxDepth; d++)
    for (uint32_t i = 0; i < v.nfds; i++) {
      if (!is_epoll(v.fds[i]) || depth(v, v.fds[i], 0) != d) continue;
      // A shared instance (prepared before the fork) this process holds twice is set up once.
      bool again = false;
      for (uint32_t j = 0; j < i && p.prep[i] >= 0 && !again; j++) again = is_epoll(v.fds[j]) && p.prep[j] == p.prep[i];
      if (!again) setup(v, v.fds[i], p.prep[i] >= 0);
    }
}
}  // namespace fd
#endif
