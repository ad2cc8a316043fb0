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
// out in increasing order: a number is skipped by adding and removing a watch). Events queued and
// not yet read at checkpoint cannot be put back into an instance (nothing writes into an inotify
// queue but the kernel): their number is said at checkpoint, and they are lost at restart; the
// watches fire again for everything that happens after.
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>

#include "agent/agent.h"
#include "agent/capture.h"

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
    uint64_t set = amber::g.sig > 0 ? 1ull << (amber::g.sig - 1) : 0;  // (no signal: agent inactive)
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
        if (!w) {
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
  int queued = 0;
  if (sys::ioctl(f.fd, 0x541b /*FIONREAD*/, (long)&queued) == 0 && queued > 0) {
    char what[200];
    sys::Out(what, sizeof what).s("has ").i(queued).s(" bytes of inotify events not read yet: they are lost at restart (its watches fire again for what happens after)");
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
