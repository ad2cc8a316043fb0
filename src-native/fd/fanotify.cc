// fanotify instances (AMBER_FD_ANON, subkind FANOTIFY; extra = init flags | event_f_flags << 32;
// data = amber_fanotify_mark records, each followed by the marked path, padded to 8).
//
// The same problem as inotify (fd/inotify.cc, read its header first): the kernel shows an inode
// mark in fdinfo by inode and file handle only ("fanotify ino:3f7e8 sdev:fe00000 mflags:0
// mask:48000302 ignored_mask:0 fhandle-bytes:8 ..."), a mount mark by mount id, a filesystem mark
// by device, and opening a file handle needs CAP_DAC_READ_SEARCH. So the agent wraps
// fanotify_mark (glibc's name and syscall(SYS_fanotify_mark), pid/calls.cc) and keeps, per
// descriptor and marked object, the absolute path it was marked at (dirfd + path resolved when
// the mark is made, FAN_MARK_DONT_FOLLOW honoured) in a table of its own memory. Capture: the
// instance's flags from fdinfo ("fanotify flags:%x event-flags:%x"); each fdinfo mark matched with
// the table by object (inode: device and inode; mount: mount id; filesystem: device), its masks
// and kernel-kept mark flags (FAN_MARK_IGNORED_SURV_MODIFY, EVICTABLE, IGNORE) from fdinfo. A mark
// amber did not see made (a raw system call) cannot be rebuilt: named at checkpoint. A removed
// mark is simply not in fdinfo any more (FAN_MARK_REMOVE needs no bookkeeping; FAN_MARK_FLUSH
// drops the table's entries of that kind).
//
// Restore: fanotify_init with the same flags (an unprivileged program had FAN_REPORT_FID-style
// flags, so the restart can make it too), each mark added again at its path: its event mask, then
// its ignore mask (FAN_MARK_IGNORE or the legacy FAN_MARK_IGNORED_MASK, as it was).
//
// Events queued and not read at checkpoint, in a group that reports file ids (FAN_REPORT_FID,
// FAN_REPORT_DIR_FID + FAN_REPORT_NAME) in the notification class: such an event is only bytes —
// a file handle and the filesystem's fsid, which stay valid on the same filesystem — so, as for
// inotify, the checkpoint takes them out (all threads parked) into a replay buffer in the agent's
// memory, saved with it; the read wrapper hands them out first, whole events in their order.
// A private event keeps the descriptor readable for poll/select/epoll while only the buffer holds
// events: a FAN_MODIFY mark on a memfd of ours, one write through a second open of it (writes
// through a memfd's own descriptor make no events), the mark removed again at once. That event is
// recognised by the memfd's file handle (a FID record) or its name (a name record) and never
// returned. FIONREAD (pid/session.cc) counts the buffer (the kernel answers 24 bytes per event)
// and not the private event.
// Events of the other groups carry an open descriptor of the file (event->fd, FAN_REPORT_PIDFD's
// pidfd) that the kernel installs in the reading process: taking them out at checkpoint would
// give the process descriptors it has not seen, and those of a permission class wait for an
// answer. They are left in the kernel's queue (a process that goes on reads them as usual) and
// named at checkpoint: a restart loses them; the marks fire again for what happens after.
// Not translated: the pid in events read after a restart is the kernel's (the process that made
// the event, as the kernel numbers it now).
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "sys/usermem.h"

namespace {
struct Mark {
  int32_t fd;
  uint32_t type;       // AMBER_FAN_*
  uint32_t flags;      // lookup flags as marked: FAN_MARK_DONT_FOLLOW, FAN_MARK_ONLYDIR
  uint32_t live;
  uint32_t path_off, path_len;
  uint64_t dev, ino;   // inode: st_dev, st_ino; mount: 0, mount id; filesystem: st_dev, 0
};
// A fixed table in .bss (untouched pages cost nothing and are not in images).
constexpr uint32_t kMarks = 1u << 14;
constexpr uint32_t kPool = 4u << 20;
Mark g_m[kMarks];
uint32_t g_nm;         // high-water mark of g_m
char g_pool[kPool];    // the paths, appended; compacted when full
uint32_t g_pool_used;
bool g_overflow;       // a mark did not fit: the capture names the ones it cannot find
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
  for (uint32_t i = 0; i < g_nm; i++) {
    if (!g_m[i].live) continue;
    __builtin_memmove(g_pool + at, g_pool + g_m[i].path_off, g_m[i].path_len);
    g_m[i].path_off = at;
    at += g_m[i].path_len;
  }
  g_pool_used = at;
}

uint32_t type_of(unsigned flags) {
  if (flags & FAN_MARK_FILESYSTEM) return AMBER_FAN_FILESYSTEM;  // (0x100; FAN_MARK_MOUNT is 0x10)
  if (flags & FAN_MARK_MOUNT) return AMBER_FAN_MOUNT;
  return AMBER_FAN_INODE;
}

// The object a successful mark call named, as fdinfo will show it.
void identify(uint32_t type, unsigned flags, int dirfd, const char* path, uint64_t* dev, uint64_t* ino) {
  int at = ((flags & FAN_MARK_DONT_FOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) | (path ? 0 : AT_EMPTY_PATH);
  if (type == AMBER_FAN_MOUNT) {
    struct statx sx{};
    *dev = 0;
    *ino = sys::sc5(sys::NR_statx, dirfd, (long)(path ? path : ""), at, 0x1000 /*STATX_MNT_ID*/, (long)&sx) == 0
               ? sx.stx_mnt_id : 0;
    return;
  }
  sys::kstat st{};
  sys::fstatat(dirfd, path ? path : "", &st, at);
  *dev = st.st_dev;
  *ino = type == AMBER_FAN_INODE ? st.st_ino : 0;
}

// A mark added through fd: its absolute path (a relative one is resolved against dirfd or the
// working directory now; no path: dirfd's own object).
void record(int fd, unsigned flags, int dirfd, const char* path) {
  char base[4096];
  size_t bl = 0;
  if (!path || path[0] != '/') {
    long r = dirfd == AT_FDCWD ? sys::sc2(SYS_getcwd, (long)base, sizeof base) : sys::fd_link(dirfd, base, sizeof base);
    if (r > 0) bl = sys::slen(base);
  }
  size_t pl = path ? sys::slen(path) : 0;
  bool sep = bl && pl && base[bl - 1] != '/';
  size_t len = bl + (sep ? 1 : 0) + pl;
  uint32_t type = type_of(flags);
  uint64_t dev, ino;
  identify(type, flags, dirfd, path, &dev, &ino);
  Guard g;
  Mark* m = nullptr;
  for (uint32_t i = 0; i < g_nm && !m; i++)
    if (g_m[i].live && g_m[i].fd == fd && g_m[i].type == type && g_m[i].dev == dev && g_m[i].ino == ino) m = &g_m[i];
  if (m) m->live = 0;  // marked again: the newest path and lookup flags
  for (uint32_t i = 0; i < g_nm && !m; i++)
    if (!g_m[i].live) m = &g_m[i];
  if (!m && g_nm < kMarks) m = &g_m[g_nm++];
  if (!m || len == 0 || len > kPool) { g_overflow = true; return; }
  if (g_pool_used + len > kPool) compact();
  if (g_pool_used + len > kPool) { g_overflow = true; return; }
  char* at = g_pool + g_pool_used;
  if (bl) __builtin_memcpy(at, base, bl);
  if (sep) at[bl] = '/';
  if (pl) __builtin_memcpy(at + (len - pl), path, pl);
  *m = Mark{fd, type, flags & (FAN_MARK_DONT_FOLLOW | FAN_MARK_ONLYDIR), 1, g_pool_used, (uint32_t)len, dev, ino};
  g_pool_used += (uint32_t)len;
}

void flush(int fd, unsigned flags) {
  uint32_t type = type_of(flags);
  Guard g;
  for (uint32_t i = 0; i < g_nm; i++)
    if (g_m[i].live && g_m[i].fd == fd && g_m[i].type == type) g_m[i].live = 0;
}

inline long ret(long r) {
  if ((unsigned long)r > -4096ul) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

// ---- replay of the events queued at a checkpoint (see the header) ----
constexpr uint32_t kMeta = sizeof(fanotify_event_metadata);  // 24: FIONREAD's unit
constexpr char kName[] = "amber-fanotify";                    // the private memfd ("memfd:" + this)

struct Replay {
  int32_t fd;          // -1: free
  uint32_t armed;      // our private event is still in the kernel's queue
  uint32_t off, len, cap;
  char* buf;           // mmap'd, cap bytes: events [off, len) not handed out yet
  uint32_t hlen;       // the private file's handle (handle_bytes, type, bytes)
  uint8_t handle[8 + 128];
  char name[48];       // the private file's name when it is not a memfd ("": a memfd)
};
constexpr uint32_t kReplays = 64;
Replay g_rp[kReplays];
uint32_t g_nrp;               // high-water mark of g_rp
volatile uint32_t g_rp_live;  // entries in use: reads look at the table only when non-zero

Replay* replay_find(int fd) {
  for (uint32_t i = 0; i < g_nrp; i++) if (g_rp[i].fd == fd) return &g_rp[i];
  return nullptr;
}

void replay_free(Replay* r) {
  r->fd = -1;
  r->armed = 0;
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

// Is the event at e (n bytes, event_len checked) our private one: a FID record holding our
// memfd's handle, or a name record naming it.
bool is_private(const Replay* r, const char* e, uint32_t n) {
  fanotify_event_metadata md;
  __builtin_memcpy(&md, e, sizeof md);
  if (!(md.mask & FAN_MODIFY) || md.metadata_len < kMeta) return false;
  for (uint32_t at = md.metadata_len; at + sizeof(fanotify_event_info_header) <= n;) {
    fanotify_event_info_header h;
    __builtin_memcpy(&h, e + at, sizeof h);
    if (h.len < sizeof h || at + h.len > n) break;
    // fid records: header, fsid (8 bytes), file_handle (handle_bytes, type, bytes)[, name]
    uint32_t fh = at + (uint32_t)sizeof h + 8;
    if ((h.info_type == FAN_EVENT_INFO_TYPE_FID || h.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) && fh + 8 <= at + h.len) {
      uint32_t hb;
      __builtin_memcpy(&hb, e + fh, 4);
      if (h.info_type == FAN_EVENT_INFO_TYPE_FID) {
        if (r->hlen && 8 + hb == r->hlen && fh + r->hlen <= at + h.len && !__builtin_memcmp(e + fh, r->handle, r->hlen)) return true;
      } else if (fh + 8 + hb < at + h.len) {
        const char* name = e + fh + 8 + hb;
        uint32_t room = at + h.len - (fh + 8 + hb);
        size_t want = sys::slen(r->name);
        if (want && room > want && !__builtin_memcmp(name, r->name, want + 1)) return true;
      }
    }
    at += h.len;
  }
  return false;
}

// Drops our private event from [p, p + n); returns the bytes left.
size_t drop_private(Replay* r, char* p, size_t n) {
  size_t w = 0;
  for (size_t at = 0; at + kMeta <= n;) {
    fanotify_event_metadata md;
    __builtin_memcpy(&md, p + at, sizeof md);
    size_t sz = md.event_len;
    if (sz < kMeta || at + sz > n) break;
    if (r->armed && is_private(r, p + at, (uint32_t)sz)) {
      r->armed = 0;
    } else {
      if (w != at) __builtin_memmove(p + w, p + at, sz);
      w += sz;
    }
    at += sz;
  }
  return w;
}

// Kernel events queued on fd now (FIONREAD: 24 bytes each), or 0.
int queued(int fd) {
  int q = 0;
  return sys::ioctl(fd, 0x541b /*FIONREAD*/, (long)&q) == 0 && q > 0 ? q : 0;
}

// One FAN_MODIFY event of the file at p (open as m) in r's queue: its handle noted, a mark made,
// one write through a second open (writes through a memfd's own descriptor make no events), the
// mark removed. True when the event is queued.
bool arm_at(Replay* r, long m, const char* p) {
  int before = queued(r->fd);
  struct { uint32_t bytes; int32_t type; uint8_t h[128]; } fh{};
  fh.bytes = sizeof fh.h;
  int mnt = 0;
  r->hlen = sys::sc5(sys::NR_name_to_handle_at, m, (long)"", (long)&fh, (long)&mnt, AT_EMPTY_PATH) == 0 ? 8 + fh.bytes : 0;
  if (r->hlen) __builtin_memcpy(r->handle, &fh, r->hlen);
  bool ok = false;
  if (sys::sc5(sys::NR_fanotify_mark, r->fd, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, (long)p) == 0) {
    long w = sys::open(p, sys::O_WRONLY_ | sys::O_CLOEXEC_);
    if (w >= 0) {
      ok = sys::write((int)w, "x", 1) == 1;
      sys::close((int)w);
    }
    sys::sc5(sys::NR_fanotify_mark, r->fd, FAN_MARK_REMOVE, FAN_MODIFY, AT_FDCWD, (long)p);
  }
  r->armed = ok && queued(r->fd) > before;
  return r->armed;
}

// One real event in fd's queue (see the header): true when it is there. A memfd first (no name
// anywhere); a group that reports names only (FAN_REPORT_DFID_NAME without FAN_REPORT_FID) gets
// no event for it (a memfd has no parent directory): a file of ours in /dev/shm or /tmp then,
// created, marked, written and unlinked at once, its event recognised by its name.
bool arm(Replay* r) {
  r->name[0] = 0;
  long m = sys::sc2(sys::NR_memfd_create, (long)kName, 1 /*MFD_CLOEXEC*/);
  if (m >= 0) {
    char p[48];
    sys::Out o(p, sizeof p);
    o.s("/proc/thread-self/fd/").i(m);
    bool ok = arm_at(r, m, p);
    sys::close((int)m);
    if (ok) return true;
  }
  static uint32_t seq;
  static const char* const dirs[] = {"/dev/shm/", "/tmp/"};
  for (const char* dir : dirs) {
    char p[96];
    sys::Out o(p, sizeof p);
    o.s(dir);
    size_t at = o.len;
    o.s(".amber-fanotify-").i(sys::getpid()).c('-').u(__atomic_add_fetch(&seq, 1u, __ATOMIC_RELAXED));
    long f = sys::open(p, sys::O_RDWR_ | sys::O_CREAT_ | sys::O_EXCL_ | sys::O_CLOEXEC_, 0600);
    if (f < 0) continue;
    sys::Out(r->name, sizeof r->name).s(p + at);
    bool ok = arm_at(r, f, p);
    sys::unlink(p);
    sys::close((int)f);
    if (ok) return true;
  }
  r->name[0] = 0;
  return false;
}

// Does fd's group report file ids only (no descriptor installed by a read, notification class)?
bool replayable(uint32_t init_flags) {
  return (init_flags & (FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT)) == 0 && !(init_flags & FAN_REPORT_PIDFD) &&
         (init_flags & (FAN_REPORT_FID | FAN_REPORT_NAME));
}

// Checkpoint thread, every thread parked: fd's queued events into its replay buffer. 0: done;
// otherwise why they are not kept.
const char* replay_take(int fd, uint32_t init_flags) {
  Guard g;
  Replay* r = replay_find(fd);
  if (!r && !queued(fd)) return nullptr;
  if (!replayable(init_flags))
    return "has fanotify events not read yet that carry open descriptors (a group without FAN_REPORT_FID, or FAN_REPORT_PIDFD, or a permission class): they are left in its queue; a restart loses them (its marks fire again for what happens after)";
  if (!r) {
    for (uint32_t i = 0; i < g_nrp && !r; i++) if (g_rp[i].fd < 0) r = &g_rp[i];
    if (!r && g_nrp < kReplays) r = &g_rp[g_nrp++];
    if (!r) return "has fanotify events not read yet beyond the agent's table (64 instances): they are lost at restart";
    r->fd = fd;
    r->armed = 0;
    r->off = r->len = 0;
    __atomic_add_fetch(&g_rp_live, 1u, __ATOMIC_RELEASE);
  }
  while (queued(fd) > 0) {
    if (!replay_room(r, 65536)) return "has fanotify events not read yet that the agent could not keep: they are lost at restart";
    long n = sys::read(fd, r->buf + r->len, r->cap - r->len);
    if (n <= 0) break;
    r->len += (uint32_t)drop_private(r, r->buf + r->len, (size_t)n);
  }
  if (r->len == r->off) {
    if (!r->armed) replay_free(r);
    return nullptr;
  }
  // The kernel's queue is empty now: one private event keeps the descriptor readable.
  if (!r->armed && !arm(r))
    return "has fanotify events not read yet, kept and handed out by read(), but poll, select and epoll will not see the descriptor readable for them until a new event comes";
  return nullptr;
}

// Whole events from r's buffer into the program's dst (n bytes, *got used), as many as fit.
// Through a checked write, as the kernel's copy: false when dst cannot be written (EFAULT).
bool hand_out(Replay* r, char* dst, size_t n, size_t* got) {
  while (r->off < r->len) {
    fanotify_event_metadata md;
    __builtin_memcpy(&md, r->buf + r->off, sizeof md);
    size_t sz = md.event_len;
    if (*got + sz > n) break;
    if (sys::vm_write(dst + *got, r->buf + r->off, sz) != (long)sz) return false;
    *got += sz;
    r->off += (uint32_t)sz;
  }
  return true;
}
}  // namespace

namespace amber {
namespace fanotify {
// fanotify_mark(2) for the wrappers: the system call, then the table. A raw result.
long mark(int fd, unsigned flags, uint64_t mask, int dirfd, const char* path) {
  long r = sys::sc5(sys::NR_fanotify_mark, fd, flags, (long)mask, dirfd, (long)path);
  if (r == 0) {
    if (flags & FAN_MARK_FLUSH) flush(fd, flags);
    else if (flags & FAN_MARK_ADD) record(fd, flags, dirfd, path);
  }
  return r;
}

bool replaying(int fd) { return __atomic_load_n(&g_rp_live, __ATOMIC_ACQUIRE) && fd >= 0 && replay_find(fd); }

// read(2) on a descriptor with a replay entry: its buffered events first (as many whole events as
// fit; EINVAL when not even the first does, as the kernel), then the kernel's without our private
// event. next: libc's read. false: not ours after all (the caller reads as usual).
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
      // The buffer is out: take what the kernel has queued meanwhile (our private event among
      // it), without blocking, handing real events on while they fit.
      while (r->armed && queued(fd) > 0) {
        if (!replay_room(r, 65536)) break;
        long k = sys::read(fd, r->buf + r->len, r->cap - r->len);
        if (k <= 0) break;
        r->len += (uint32_t)drop_private(r, r->buf + r->len, (size_t)k);
        if (!hand_out(r, dst, n, &got)) break;
      }
      if (r->off < r->len) {
        if (!r->armed) arm(r);  // left over for the next read: readable again
      } else if (!r->armed) {
        replay_free(r);
      }
      if (got) { *out = (ssize_t)got; return true; }
      if (!r->armed && r->fd < 0) return false;  // all done: the kernel's read, as usual
    }
    // Only our private event may be queued now, or nothing: the kernel's read, ours filtered out.
    ssize_t k = next(fd, buf, n);
    if (k <= 0) { *out = k; return true; }
    Guard g;
    Replay* r = replay_find(fd);
    size_t left = r ? drop_private(r, static_cast<char*>(buf), (size_t)k) : (size_t)k;
    if (r && !r->armed && r->off == r->len) replay_free(r);
    if (left) { *out = (ssize_t)left; return true; }
    // Only ours: a blocking descriptor waits for the program's next event, as without us.
    long fl = sys::fcntl(fd, 3 /*F_GETFL*/, 0);
    if (fl >= 0 && (fl & 04000 /*O_NONBLOCK*/)) { errno = EAGAIN; *out = -1; return true; }
  }
}

// FIONREAD on fd answered *n (the kernel's: 24 bytes per queued event): the buffer's events in,
// our private event out.
void fionread(int fd, int* n) {
  if (!replaying(fd)) return;
  Guard g;
  Replay* r = replay_find(fd);
  if (!r) return;
  int priv = r->armed ? (int)kMeta : 0;
  int mine = 0;
  for (uint32_t at = r->off; at + kMeta <= r->len;) {
    fanotify_event_metadata md;
    __builtin_memcpy(&md, r->buf + at, sizeof md);
    if (md.event_len < kMeta) break;
    mine += (int)kMeta;
    at += md.event_len;
  }
  *n = (*n > priv ? *n - priv : 0) + mine;
}

void closed(int fd) {
  if (!__atomic_load_n(&g_rp_live, __ATOMIC_ACQUIRE)) return;
  Guard g;
  if (Replay* r = replay_find(fd)) replay_free(r);
}

// A fork child shares the instance but not the buffer: it hands out nothing of it, and still
// hides our private event.
void forked() {
  for (uint32_t i = 0; i < g_nrp; i++) if (g_rp[i].fd >= 0) g_rp[i].off = g_rp[i].len;
  g_lock = 0;
}

// After a restart (before the program runs): the restored instance's queue is empty.
void restarted() {
  for (uint32_t i = 0; i < g_nrp; i++) {
    Replay* r = &g_rp[i];
    if (r->fd < 0) continue;
    r->armed = 0;
    if (r->off < r->len) arm(r);
    else replay_free(r);
  }
}
}  // namespace fanotify
}  // namespace amber

extern "C" {
__attribute__((visibility("default"))) int fanotify_mark(int fd, unsigned int flags, uint64_t mask, int dirfd,
                                                         const char* path) {
  return (int)ret(amber::fanotify::mark(fd, flags, mask, dirfd, path));
}
}

namespace fd {
namespace {
const char* skip_space(const char* p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}
// "key:value" at p (hex), or false when the word is not that key.
bool field(const char** p, const char* key, uint64_t* out) {
  *p = skip_space(*p);
  if (!sys::sstarts(*p, key)) return false;
  *p += sys::slen(key);
  *out = sys::parse_u(p, 16);
  return true;
}
uint64_t st_dev_of(uint64_t sdev) {  // the kernel's s_dev (major << 20 | minor) as stat encodes it
  uint64_t major = sdev >> 20, minor = sdev & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffull) << 12);
}
}  // namespace

void fanotify_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_FANOTIFY;
  char* start = nullptr;
  uint32_t len = 0;
  uint64_t init_flags = 0, event_flags = 0;
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "fanotify ")) {
      const char* q = p + 9;
      uint64_t a = 0, b = 0, mflags, mask, ign;
      uint32_t type = 0;
      if (field(&q, "flags:", &a) && field(&q, "event-flags:", &b)) {
        init_flags = a;
        event_flags = b;
      } else if (field(&q, "ino:", &b) && field(&q, "sdev:", &a)) {
        type = AMBER_FAN_INODE;
        a = st_dev_of(a);
      } else if (field(&q, "mnt_id:", &b)) {
        type = AMBER_FAN_MOUNT;
      } else if (field(&q, "sdev:", &a)) {
        type = AMBER_FAN_FILESYSTEM;
        a = st_dev_of(a);
      }
      if (type && field(&q, "mflags:", &mflags) && field(&q, "mask:", &mask) && field(&q, "ignored_mask:", &ign)) {
        // This descriptor's, or this instance's under another number (dup2).
        const Mark* m = nullptr;
        for (int pass = 0; pass < 2 && !m; pass++)
          for (uint32_t i = 0; i < g_nm && !m; i++)
            if (g_m[i].live && (pass || g_m[i].fd == f.fd) && g_m[i].type == type && g_m[i].dev == a && g_m[i].ino == b)
              m = &g_m[i];
        if (!m) {
          c.limit(f, g_overflow ? "has a fanotify mark beyond the agent's table (16384 marks, 4 MiB of paths): it is not added again at restart"
                                : "has a fanotify mark amber did not see made (a raw system call): it is not added again at restart");
        } else {
          uint32_t rec = (uint32_t)((sizeof(amber_fanotify_mark) + m->path_len + 7) & ~7ull);
          char* dst = c.str.reserve(len + rec);
          if (!dst) return;  // the capture fails: the string space is full
          if (!start) start = dst;
          amber_fanotify_mark fm{};
          fm.type = type;
          fm.flags = (uint32_t)mflags | m->flags;
          fm.mask = mask;
          fm.ignored_mask = ign;
          fm.dev = m->dev;
          fm.inode = m->ino;
          fm.path_len = m->path_len;
          __builtin_memcpy(start + len, &fm, sizeof fm);
          __builtin_memcpy(start + len + sizeof fm, g_pool + m->path_off, m->path_len);
          __builtin_memset(start + len + sizeof fm + m->path_len, 0, rec - sizeof fm - m->path_len);
          len += rec;
        }
      }
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  // As fdinfo shows them, FAN_CLOEXEC and FAN_NONBLOCK as given at init (the descriptor's own
  // flags are put back by the dispatcher whatever they are now).
  f.extra = init_flags | (event_flags << 32);
  if (start) f.data = c.str.add(start, len);
  if (const char* why = replay_take(f.fd, (uint32_t)init_flags)) c.limit(f, why);
}
bool fanotify_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(fanotify)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(fanotify)
AMBER_FD_NO_PREPARE(fanotify)

long fanotify_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  // The group's flags as they were (fdinfo shows them): the status and descriptor flags of now
  // are the dispatcher's to put back.
  long fd = sys::sc2(sys::NR_fanotify_init, (long)(uint32_t)f.extra, (long)(uint32_t)(f.extra >> 32));
  if (fd < 0) {
    rs::warn_fd("cannot make its fanotify instance again", f, fd, "it is /dev/null");
    return fd;
  }
  fd = rs::lift(fd);
  if (fd < 0) return fd;
  const char* d;
  uint32_t len;
  if (!amber_str_at(p.v, f.data, &d, &len)) return fd;
  char path[4096];
  // Records are in fdinfo's order, the newest mark first: made again from the last, so fdinfo
  // lists them as before (a few marks per instance in practice; quadratic, bounded by the record
  // count the validator walked).
  uint32_t count = 0;
  for (uint32_t at = 0; at + sizeof(amber_fanotify_mark) <= len; count++) {
    amber_fanotify_mark m;
    memcpy(&m, d + at, sizeof m);
    if (at + sizeof m + m.path_len > len) break;
    at += (uint32_t)((sizeof m + m.path_len + 7) & ~7ull);
  }
  for (uint32_t k = count; k-- > 0;) {
    uint32_t at = 0;
    amber_fanotify_mark m;
    for (uint32_t j = 0;; j++) {
      memcpy(&m, d + at, sizeof m);
      if (j == k) break;
      at += (uint32_t)((sizeof m + m.path_len + 7) & ~7ull);
    }
    uint32_t n = m.path_len < sizeof path - 1 ? m.path_len : (uint32_t)sizeof path - 1;
    memcpy(path, d + at + sizeof m, n);
    path[n] = 0;
    // FAN_MARK_ADD | what it marks | the lookup and eviction flags it was made with.
    long base = 0x1 /*FAN_MARK_ADD*/ |
                (m.type == AMBER_FAN_MOUNT ? 0x10 /*FAN_MARK_MOUNT*/ : m.type == AMBER_FAN_FILESYSTEM ? 0x100 /*FAN_MARK_FILESYSTEM*/ : 0) |
                (m.flags & (0x4 /*DONT_FOLLOW*/ | 0x8 /*ONLYDIR*/ | 0x200 /*EVICTABLE*/));
    long r = 0;
    if (m.mask) r = sys::sc5(sys::NR_fanotify_mark, fd, base, (long)m.mask, -100 /*AT_FDCWD*/, (long)path);
    if (r == 0 && m.ignored_mask) {
      // FAN_MARK_IGNORE (fdinfo shows it) or the legacy FAN_MARK_IGNORED_MASK, and whether the
      // ignore mask survives a modification.
      long ig = base | ((m.flags & 0x400) ? 0x400 /*FAN_MARK_IGNORE*/ : 0x20 /*FAN_MARK_IGNORED_MASK*/) |
                (m.flags & 0x40 /*FAN_MARK_IGNORED_SURV_MODIFY*/);
      r = sys::sc5(sys::NR_fanotify_mark, fd, ig, (long)m.ignored_mask, -100, (long)path);
    }
    if (r < 0) {
      rs::warn_path(f, "cannot mark this path again (its fanotify mark is lost)", path, r);
      continue;
    }
    if (m.type == AMBER_FAN_INODE) {
      sys::kstat st{};
      if (sys::fstatat(-100, path, &st, (m.flags & 0x4) ? 0x100 : 0) == 0 && st.st_ino != m.inode)
        rs::warn_path(f, "is another file now than the one its fanotify mark marked; the new one is marked", path, 0);
    }
  }
  return fd;
}
AMBER_FD_NO_FINISH(fanotify)
}  // namespace fd
#endif
