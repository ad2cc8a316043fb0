// inotify instances (AMBER_FD_ANON, subkind INOTIFY; data = amber_inotify_watch records, each
// followed by the watched path, padded to 8).
//
// The kernel shows a watch in fdinfo by inode and file handle only ("inotify wd:1 ino:3f7e8
// sdev:fe00000 mask:300 ..."), and opening a file handle needs CAP_DAC_READ_SEARCH. So the agent
// wraps inotify_add_watch and inotify_rm_watch and keeps every watch's absolute path in a table of
// its own memory (the suspend signal blocked while it changes it, so a checkpoint never finds the
// table half written). Capture: each fdinfo watch, matched with the table by descriptor, watch
// descriptor and inode; its mask from fdinfo. A watch amber did not see added (a raw system call)
// cannot be rebuilt: named at checkpoint.
//
// Restore: a new instance with the same flags, every watch added again at its path in the order of
// its watch descriptor, so each gets the same number the application knows (the kernel hands them
// out in increasing order: a number is skipped by adding and removing a watch).
//
// Events queued and not yet read at checkpoint: nothing writes into an inotify queue but the
// kernel, so the checkpoint takes them out (all threads parked) into a replay buffer in the
// agent's memory — saved with it — and the read wrapper (pid/signalfd.cc) hands them out first,
// whole events as the kernel would, in their order, before anything newer. For poll, select and
// epoll to see the descriptor readable while only the buffer holds events, a private watch makes
// one real event: a one-shot IN_MODIFY watch on a memfd of ours, written once and closed (the
// kernel then queues IN_MODIFY and IN_IGNORED for that watch descriptor, which no read ever
// returns to the program). The same is done again after a restart, before the program runs.
// FIONREAD (ioctl wrapper, pid/session.cc) counts the buffer and not the private events. Costs:
// a private watch takes one watch descriptor number, so a watch added later gets a number one
// higher than it would have.
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "sys/usermem.h"

namespace {
struct Watch {
  int32_t fd, wd;
  uint32_t mask;       // as added (its lookup flags: IN_DONT_FOLLOW, IN_ONLYDIR)
  uint32_t live;
  uint32_t path_off, path_len;
  uint64_t dev, ino;
};
// A fixed table in .bss (untouched pages cost nothing and are not in images): watchers of big
// trees add tens of thousands of watches.
constexpr uint32_t kWatches = 1u << 16;
constexpr uint32_t kPool = 16u << 20;
Watch g_w[kWatches];
uint32_t g_nw;         // high-water mark of g_w
char g_pool[kPool];    // the paths, appended; compacted when full
uint32_t g_pool_used;
bool g_overflow;       // a watch did not fit: the capture names the ones it cannot find
volatile uint32_t g_lock;

// The suspend signal blocked and the lock held: the table never changes under a checkpoint.
struct Guard {
  uint64_t old;
  Guard() {
    uint64_t set = amber::g.sig > 0 ? amber::park_block_mask() : 0;  // (no signal: agent inactive)
    sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &set, &old);
    while (__atomic_exchange_n(&g_lock, 1u, __ATOMIC_ACQUIRE)) sys::sc0(24 /*sched_yield*/);
  }
  ~Guard() {
    __atomic_store_n(&g_lock, 0u, __ATOMIC_RELEASE);
    sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &old, nullptr);
  }
};

void compact() {
  uint32_t at = 0;
  for (uint32_t i = 0; i < g_nw; i++) {
    if (!g_w[i].live) continue;
    __builtin_memmove(g_pool + at, g_pool + g_w[i].path_off, g_w[i].path_len);
    g_w[i].path_off = at;
    at += g_w[i].path_len;
  }
  g_pool_used = at;
}

void record(int fd, int wd, const char* path, uint32_t mask) {
  // The absolute path: a relative one is the working directory's now.
  char cwd[4096];
  size_t cl = 0;
  if (path[0] != '/') {
    long r = sys::sc2(SYS_getcwd, (long)cwd, sizeof cwd);
    if (r > 0) cl = sys::slen(cwd);
  }
  size_t pl = sys::slen(path);
  size_t len = cl + (cl ? 1 : 0) + pl;
  sys::kstat st{};
  sys::fstatat(-100, path, &st, (mask & IN_DONT_FOLLOW) ? 0x100 /*AT_SYMLINK_NOFOLLOW*/ : 0);
  Guard g;
  Watch* w = nullptr;
  for (uint32_t i = 0; i < g_nw && !w; i++)
    if (g_w[i].live && g_w[i].fd == fd && g_w[i].wd == wd) w = &g_w[i];
  if (w && w->ino == st.st_ino && w->dev == st.st_dev) { w->mask = mask; return; }  // same watch, new mask
  if (!w)
    for (uint32_t i = 0; i < g_nw && !w; i++)
      if (!g_w[i].live) w = &g_w[i];
  if (!w && g_nw < kWatches) w = &g_w[g_nw++];
  if (!w || len > kPool) { g_overflow = true; return; }
  w->live = 0;
  if (g_pool_used + len > kPool) compact();
  if (g_pool_used + len > kPool) { g_overflow = true; return; }
  char* at = g_pool + g_pool_used;
  if (cl) {
    __builtin_memcpy(at, cwd, cl);
    at[cl] = '/';
  }
  __builtin_memcpy(at + (cl ? cl + 1 : 0), path, pl);
  *w = Watch{fd, wd, mask, 1, g_pool_used, (uint32_t)len, st.st_dev, st.st_ino};
  g_pool_used += (uint32_t)len;
}

void forget(int fd, int wd) {
  Guard g;
  for (uint32_t i = 0; i < g_nw; i++)
    if (g_w[i].live && g_w[i].fd == fd && g_w[i].wd == wd) g_w[i].live = 0;
}

inline long ret(long r) {
  if ((unsigned long)r > -4096ul) {
    errno = (int)-r;
    return -1;
  }
  return r;
}
}  // namespace

// ---- replay of the events queued at a checkpoint (see the header) ----
namespace {
struct Replay {
  int32_t fd;      // -1: free
  int32_t wd;      // our private watch whose events are still in the kernel's queue; 0 none
  uint32_t off, len, cap;
  char* buf;       // mmap'd, cap bytes: events [off, len) not handed out yet
};
constexpr uint32_t kReplays = 64;
Replay g_rp[kReplays];
uint32_t g_nrp;              // high-water mark of g_rp
volatile uint32_t g_rp_live; // entries in use: reads look at the table only when non-zero

Replay* replay_find(int fd) {
  for (uint32_t i = 0; i < g_nrp; i++) if (g_rp[i].fd == fd) return &g_rp[i];
  return nullptr;
}

void replay_free(Replay* r) {
  r->fd = -1;
  r->wd = 0;
  r->off = r->len = 0;
  __atomic_sub_fetch(&g_rp_live, 1u, __ATOMIC_RELEASE);
}

bool replay_room(Replay* r, uint32_t more) {
  if (r->off) {
    __builtin_memmove(r->buf, r->buf + r->off, r->len - r->off);
    r->len -= r->off;
    r->off = 0;
  }
  if (r->len + more <= r->cap) return true;
  uint32_t cap = (r->len + more + 65535) & ~65535u;
  long m = sys::mmap(nullptr, cap, 3 /*PROT_READ|PROT_WRITE*/, 0x22 /*MAP_PRIVATE|MAP_ANONYMOUS*/, -1, 0);
  if (m < 0 && m > -4096) return false;
  if (r->buf) {
    __builtin_memcpy(reinterpret_cast<char*>(m), r->buf, r->len);
    sys::munmap(r->buf, r->cap);
  }
  r->buf = reinterpret_cast<char*>(m);
  r->cap = cap;
  return true;
}

// Drops the events of our private watch from [p, p + n); returns the bytes left. A dropped
// IN_IGNORED means the private watch is gone and its events are all read.
size_t drop_private(Replay* r, char* p, size_t n) {
  size_t w = 0;
  for (size_t at = 0; at + sizeof(inotify_event) <= n;) {
    inotify_event e;
    __builtin_memcpy(&e, p + at, sizeof e);
    size_t sz = sizeof e + e.len;
    if (at + sz > n) break;
    if (r->wd && e.wd == r->wd) {
      if (e.mask & IN_IGNORED) r->wd = 0;
    } else {
      if (w != at) __builtin_memmove(p + w, p + at, sz);
      w += sz;
    }
    at += sz;
  }
  return w;
}

// One real event in ifd's queue: a one-shot watch on a memfd of ours, written once.
int32_t arm(int ifd) {
  long m = sys::sc2(sys::NR_memfd_create, (long)"amber-inotify", 1 /*MFD_CLOEXEC*/);
  if (m < 0) return 0;
  char p[48];
  sys::Out o(p, sizeof p);
  o.s("/proc/thread-self/fd/").i(m);
  p[o.len] = 0;
  long wd = sys::sc3(SYS_inotify_add_watch, ifd, (long)p, IN_MODIFY | IN_ONESHOT);
  if (wd > 0) sys::write((int)m, "x", 1);
  sys::close((int)m);
  return wd > 0 ? (int32_t)wd : 0;
}

// Kernel events queued on fd now, or 0.
int queued(int fd) {
  int q = 0;
  return sys::ioctl(fd, 0x541b /*FIONREAD*/, (long)&q) == 0 && q > 0 ? q : 0;
}

// Checkpoint thread, every thread parked: fd's queued events into its replay buffer (false: they
// could not be kept).
bool replay_take(int fd) {
  Guard g;
  Replay* r = replay_find(fd);
  if (!r && !queued(fd)) return true;
  if (!r) {
    for (uint32_t i = 0; i < g_nrp && !r; i++) if (g_rp[i].fd < 0) r = &g_rp[i];
    if (!r && g_nrp < kReplays) r = &g_rp[g_nrp++];
    if (!r) return false;
    r->fd = fd;
    r->wd = 0;
    r->off = r->len = 0;
    __atomic_add_fetch(&g_rp_live, 1u, __ATOMIC_RELEASE);
  }
  for (int q; (q = queued(fd)) > 0;) {
    if (!replay_room(r, (uint32_t)q)) return false;
    long n = sys::read(fd, r->buf + r->len, (size_t)q);
    if (n <= 0) break;
    r->len += (uint32_t)drop_private(r, r->buf + r->len, (size_t)n);
  }
  if (r->len == r->off) {
    if (!r->wd) replay_free(r);
    return true;
  }
  // The kernel's queue is empty now: one private event keeps the descriptor readable.
  if (!r->wd) r->wd = arm(fd);
  return true;
}

// Is wd fd's private watch?
bool replay_private(int fd, int32_t wd) {
  if (!__atomic_load_n(&g_rp_live, __ATOMIC_ACQUIRE)) return false;
  const Replay* r = replay_find(fd);
  return r && r->wd == wd;
}
}  // namespace

namespace {
// Whole events from r's buffer into the program's dst (n bytes, *got used), as many as fit.
// Through a checked write, as the kernel's copy: false when dst cannot be written (EFAULT).
bool hand_out(Replay* r, char* dst, size_t n, size_t* got) {
  while (r->off < r->len) {
    inotify_event e;
    __builtin_memcpy(&e, r->buf + r->off, sizeof e);
    size_t sz = sizeof e + e.len;
    if (*got + sz > n) break;
    if (sys::vm_write(dst + *got, r->buf + r->off, sz) != (long)sz) return false;
    *got += sz;
    r->off += (uint32_t)sz;
  }
  return true;
}
}  // namespace

namespace amber {
namespace inotify {
bool replaying(int fd) { return __atomic_load_n(&g_rp_live, __ATOMIC_ACQUIRE) && fd >= 0 && replay_find(fd); }

// read(2) on a descriptor with a replay entry: its buffered events first (as many whole events as
// fit; EINVAL when not even the first does, as the kernel), then the kernel's without our private
// events. next: libc's read. false: not ours after all (the caller reads as usual).
bool read(int fd, void* buf, size_t n, ssize_t (*next)(int, void*, size_t), ssize_t* out) {
  for (;;) {
    {
      Guard g;
      Replay* r = replay_find(fd);
      if (!r) return false;
      char* dst = static_cast<char*>(buf);
      size_t got = 0;
      if (!hand_out(r, dst, n, &got)) { errno = EFAULT; *out = -1; return true; }
      if (r->off < r->len && !got) { errno = EINVAL; *out = -1; return true; }
      if (r->off < r->len) { *out = (ssize_t)got; return true; }
      // The buffer is out: take what the kernel has queued meanwhile (our private events first),
      // without blocking, handing real events on while they fit.
      for (int q; r->wd && (q = queued(fd)) > 0;) {
        if (!replay_room(r, (uint32_t)q)) break;
        long k = sys::read(fd, r->buf + r->len, (size_t)q);
        if (k <= 0) break;
        r->len += (uint32_t)drop_private(r, r->buf + r->len, (size_t)k);
        if (!hand_out(r, dst, n, &got)) break;
      }
      if (r->off < r->len) {
        if (!r->wd) r->wd = arm(fd);  // left over for the next read: readable again
      } else if (!r->wd) {
        replay_free(r);
      }
      if (got) { *out = (ssize_t)got; return true; }
      if (!r->wd && r->fd < 0) return false;  // all done: the kernel's read, as usual
    }
    // Only private events may be queued now, or nothing: the kernel's read, ours filtered out.
    ssize_t k = next(fd, buf, n);
    if (k <= 0) { *out = k; return true; }
    Guard g;
    Replay* r = replay_find(fd);
    size_t left = r ? drop_private(r, static_cast<char*>(buf), (size_t)k) : (size_t)k;
    if (r && !r->wd && r->off == r->len) replay_free(r);
    if (left) { *out = (ssize_t)left; return true; }
    // Only ours: a blocking descriptor waits for the program's next event, as without us.
    long fl = sys::fcntl(fd, 3 /*F_GETFL*/, 0);
    if (fl >= 0 && (fl & 04000 /*O_NONBLOCK*/)) { errno = EAGAIN; *out = -1; return true; }
  }
}

// FIONREAD on fd answered *n (the kernel's count): the buffer's bytes in, our private events out.
void fionread(int fd, int* n) {
  if (!replaying(fd)) return;
  Guard g;
  Replay* r = replay_find(fd);
  if (!r) return;
  int priv = r->wd ? 2 * (int)sizeof(inotify_event) : 0;
  *n = (*n > priv ? *n - priv : 0) + (int)(r->len - r->off);
}

void closed(int fd) {
  if (!__atomic_load_n(&g_rp_live, __ATOMIC_ACQUIRE)) return;
  Guard g;
  if (Replay* r = replay_find(fd)) replay_free(r);
}

// A fork child shares the instance but not the buffer: it hands out nothing of it, and still
// hides our private events.
void forked() {
  for (uint32_t i = 0; i < g_nrp; i++) if (g_rp[i].fd >= 0) g_rp[i].off = g_rp[i].len;
  g_lock = 0;
}

// After a restart (before the program runs): the restored instance's queue is empty.
void restarted() {
  for (uint32_t i = 0; i < g_nrp; i++) {
    Replay* r = &g_rp[i];
    if (r->fd < 0) continue;
    r->wd = 0;
    if (r->off < r->len) r->wd = arm(r->fd);
    else replay_free(r);
  }
}
}  // namespace inotify
}  // namespace amber

extern "C" {
__attribute__((visibility("default"))) int inotify_add_watch(int fd, const char* path, uint32_t mask) {
  long wd = sys::sc3(SYS_inotify_add_watch, fd, (long)path, mask);
  if (wd >= 0 && path) record(fd, (int)wd, path, mask);
  return (int)ret(wd);
}

__attribute__((visibility("default"))) int inotify_rm_watch(int fd, int wd) {
  long r = sys::sc2(SYS_inotify_rm_watch, fd, wd);
  if (r == 0) forget(fd, wd);
  return (int)ret(r);
}
}

namespace fd {
namespace {
const char* skip_space(const char* p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}
// "key:value" at p (hex unless dec), or false when the word is not that key.
bool field(const char** p, const char* key, uint64_t* out, int base) {
  *p = skip_space(*p);
  if (!sys::sstarts(*p, key)) return false;
  *p += sys::slen(key);
  *out = sys::parse_u(p, base);
  return true;
}
uint64_t st_dev_of(uint64_t sdev) {  // the kernel's s_dev (major << 20 | minor) as stat encodes it
  uint64_t major = sdev >> 20, minor = sdev & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffull) << 12);
}
}  // namespace

void inotify_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_INOTIFY;
  char* start = nullptr;
  uint32_t len = 0;
  for (const char* p = c.info; *p;) {
    uint64_t wd, ino, sdev, mask;
    if (sys::sstarts(p, "inotify ")) {
      const char* q = p + 8;
      if (field(&q, "wd:", &wd, 10) && field(&q, "ino:", &ino, 16) && field(&q, "sdev:", &sdev, 16) &&
          field(&q, "mask:", &mask, 16)) {
        // Ours (this descriptor), or one of this instance's under another number (dup2).
        const Watch* w = nullptr;
        for (uint32_t i = 0; i < g_nw && !w; i++)
          if (g_w[i].live && g_w[i].fd == f.fd && g_w[i].wd == (int32_t)wd && g_w[i].ino == ino) w = &g_w[i];
        for (uint32_t i = 0; i < g_nw && !w; i++)
          if (g_w[i].live && g_w[i].wd == (int32_t)wd && g_w[i].ino == ino && g_w[i].dev == st_dev_of(sdev)) w = &g_w[i];
        if (!w && replay_private(f.fd, (int32_t)wd)) {
          // our own (a replay's private watch): not the program's, not restored
        } else if (!w) {
          c.limit(f, g_overflow ? "has an inotify watch beyond the agent's table (65536 watches, 16 MiB of paths): it is not added again at restart"
                                : "has an inotify watch amber did not see added (a raw system call): it is not added again at restart");
        } else {
          uint32_t rec = (uint32_t)((sizeof(amber_inotify_watch) + w->path_len + 7) & ~7ull);
          char* dst = c.str.reserve(len + rec);
          if (!dst) return;  // the capture fails: the string space is full
          if (!start) start = dst;
          amber_inotify_watch iw{};
          iw.wd = w->wd;
          // The events and flags in force (fdinfo), and the lookup flags it was added with.
          iw.mask = (uint32_t)mask | (w->mask & (IN_DONT_FOLLOW | IN_ONLYDIR | IN_EXCL_UNLINK));
          iw.dev = w->dev;
          iw.inode = w->ino;
          iw.path_len = w->path_len;
          __builtin_memcpy(start + len, &iw, sizeof iw);
          __builtin_memcpy(start + len + sizeof iw, g_pool + w->path_off, w->path_len);
          __builtin_memset(start + len + sizeof iw + w->path_len, 0, rec - sizeof iw - w->path_len);
          len += rec;
        }
      }
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  if (start) f.data = c.str.add(start, len);
  if (!replay_take(f.fd)) {
    char what[200];
    sys::Out(what, sizeof what).s("has inotify events not read yet that the agent could not keep: they are lost at restart (its watches fire again for what happens after)");
    c.limit(f, what);
  }
}
bool inotify_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(inotify)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(inotify)
AMBER_FD_NO_PREPARE(inotify)

long inotify_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  long fd = rs::lift(sys::sc1(sys::NR_inotify_init1, ((f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0) | (f.flags & sys::O_NONBLOCK_)));
  if (fd < 0) return fd;
  const char* d;
  uint32_t len;
  if (!amber_str_at(p.v, f.data, &d, &len)) return fd;
  char path[4096];
  bool skipped = false;
  // Records are in fdinfo's order; watch descriptors must be handed out in increasing order.
  int32_t last = 0;
  for (;;) {
    // The record with the smallest wd above `last` (a few watches per instance in practice; a big
    // watcher is quadratic here, bounded by its own table).
    const char* best = nullptr;
    amber_inotify_watch bw{};
    for (uint32_t at = 0; at + sizeof(amber_inotify_watch) <= len;) {
      amber_inotify_watch w;
      memcpy(&w, d + at, sizeof w);
      uint32_t rec = (uint32_t)((sizeof w + w.path_len + 7) & ~7ull);
      if (at + sizeof w + w.path_len > len || rec == 0) break;
      if (w.wd > last && (!best || w.wd < bw.wd)) { best = d + at; bw = w; }
      at += rec;
    }
    if (!best) break;
    last = bw.wd;
    uint32_t n = bw.path_len < sizeof path - 1 ? bw.path_len : (uint32_t)sizeof path - 1;
    memcpy(path, best + sizeof bw, n);
    path[n] = 0;
    uint32_t mask = bw.mask & ~(0x20000000u /*IN_MASK_ADD*/ | 0x10000000u /*IN_MASK_CREATE*/);
    long wd = sys::sc3(sys::NR_inotify_add_watch, fd, (long)path, mask);
    // Numbers below the saved one were given out and freed before: skip them.
    for (uint32_t k = 0; wd > 0 && wd < bw.wd && k < (1u << 20); k++) {
      sys::sc2(sys::NR_inotify_rm_watch, fd, wd);
      wd = sys::sc3(sys::NR_inotify_add_watch, fd, (long)path, mask);
      skipped = true;
    }
    if (wd < 0) {
      rs::warn_path(f, "cannot watch this path again (its inotify watch is lost)", path, wd);
      continue;
    }
    if (wd != bw.wd) rs::warn_path(f, "is watched again under another watch descriptor", path, 0);
    sys::kstat st{};
    if (sys::fstatat(-100, path, &st, (mask & 0x02000000u /*IN_DONT_FOLLOW*/) ? 0x100 : 0) == 0 && st.st_ino != bw.inode)
      rs::warn_path(f, "is another file now than the one its inotify watch watched; the new one is watched", path, 0);
  }
  // Each removal above queued an IN_IGNORED event for a number the application never had: read
  // them out (exactly what is queued, so a blocking instance never waits).
  int queued = 0;
  char buf[4096];
  while (skipped && sys::ioctl((int)fd, 0x541b /*FIONREAD*/, (long)&queued) == 0 && queued > 0)
    if (sys::read((int)fd, buf, (size_t)queued < sizeof buf ? (size_t)queued : sizeof buf) <= 0) break;
  return fd;
}
AMBER_FD_NO_FINISH(inotify)
}  // namespace fd
#endif
