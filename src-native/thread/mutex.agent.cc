// Kernel tids glibc stores in mutexes, across a restart.
//
// A restored thread has a new kernel tid (unprivileged, the kernel chooses it), but glibc wrote
// the old one into every mutex the thread held: the owner field (__owner) of error-checking,
// recursive, robust and PI mutexes, and the lock word itself of robust and PI ones. The owner's
// unlock then fails (EPERM), its relock of a recursive mutex deadlocks, and the kernel cannot
// mark a robust mutex whose owner died (it compares the word with the dying thread's tid).
//
// Two repairs, neither knowing where the application keeps its mutexes:
//  - robust mutexes are on their owner's robust list: each thread records its list head in the
//    suspend handler (get_robust_list); once restored, it registers it again (set_robust_list:
//    a new task has none) and rewrites its old tid in every entry's lock word and owner field;
//  - any other mutex is repaired when it is next used: the pthread_mutex_* and pthread_cond_*wait
//    wrappers below look at its owner field and, when it holds a tid a thread of this process had
//    before a restart (the history kept at each restart), put that thread's present tid there
//    (and in the lock word of a PI mutex) before glibc looks. Until the first restart the history
//    is empty and the wrappers are a load and a branch.
//
// Read-write locks carry the writer's tid too (__cur_writer): glibc's unlock tells a writer from
// a reader by comparing it with the caller's tid, so a writer restored with a new tid would unlock
// as a reader (the lock stays write-locked for ever) and its relock would not be seen as a
// deadlock. The pthread_rwlock_* wrappers repair that field the same way.
//
// Limits: a mutex in memory shared with another process is repaired only by that process's own
// threads' uses; an old tid that is also the present tid of another live thread of the process
// (the kernel reused it) is left alone rather than guessed.
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"

namespace amber {
namespace {

constexpr uint32_t kTidMask = 0x3fffffff;  // FUTEX_TID_MASK
constexpr uint32_t kHistory = 4 * AMBER_MAX_THREADS;

// glibc's x86-64 struct __pthread_mutex_s (ABI): the lock word, then __count, then __owner.
struct MutexHead {
  int32_t lock;
  uint32_t count;
  int32_t owner;
  uint32_t nusers;
  int32_t kind;
};
constexpr int kKindMask = 0x7f;  // PTHREAD_MUTEX_KIND_MASK_NP
constexpr int kPrioInherit = 32;  // PTHREAD_MUTEX_PRIO_INHERIT_NP
constexpr int kRobust = 16;       // PTHREAD_MUTEX_ROBUST_NORMAL_NP

// Old kernel tid -> app tid, for every thread of every incarnation before this one.
struct Old {
  int32_t old_tid, app_tid;
};
Old g_hist[kHistory];
volatile uint32_t g_nhist;

int32_t my_tid() {
  if (g.tid_off > 0) {
    uint64_t fs = 0;
    asm volatile("mov %%fs:0, %0" : "=r"(fs));
    if (fs) return *reinterpret_cast<const int32_t*>(fs + (uint64_t)g.tid_off);
  }
  return (int32_t)sys::gettid();
}

// The present kernel tid of the thread that had kernel tid `t` before a restart, or 0.
int32_t present_of(int32_t t) {
  uint32_t n = __atomic_load_n(&g_nhist, __ATOMIC_ACQUIRE);
  for (uint32_t i = n; i-- > 0;) {
    if (g_hist[i].old_tid != t) continue;
    int32_t now = pid::to_real_tid(g_hist[i].app_tid);
    if (now <= 0 || now == t) return 0;
    // t may name a live thread of this incarnation too (reused): then it is not stale.
    if (sys::tgkill((int)sys::getpid(), t, 0) == 0) return 0;
    return now;
  }
  return 0;
}

void repair(void* m) {
  if (!__atomic_load_n(&g_nhist, __ATOMIC_RELAXED) || !m) return;
  // Read directly, as glibc is about to: an invalid pointer faults here as it would there. (A
  // checked read costs two system calls, on every lock and unlock after a restart: an MPI job's
  // progress loop ran 3-4 times slower.)
  MutexHead h;
  __builtin_memcpy(&h, m, sizeof h);
  if (h.owner <= 0 || h.owner == my_tid()) return;
  int32_t now = present_of(h.owner);
  if (!now) return;
  auto* mh = static_cast<MutexHead*>(m);
  int32_t old = h.owner;
  __atomic_compare_exchange_n(&mh->owner, &old, now, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
  if (h.kind & (kPrioInherit | kRobust)) {
    // The lock word holds the owner's tid with the FUTEX_WAITERS/OWNER_DIED bits.
    int32_t w = __atomic_load_n(&mh->lock, __ATOMIC_ACQUIRE);
    while ((w & (int32_t)kTidMask) == h.owner) {
      int32_t nw = (w & ~(int32_t)kTidMask) | now;
      if (__atomic_compare_exchange_n(&mh->lock, &w, nw, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
    }
  }
}

// glibc's x86-64 struct __pthread_rwlock_arch_t (ABI): __cur_writer after six words.
constexpr size_t kCurWriterOff = 24;

void repair_rw(void* rw) {
  if (!__atomic_load_n(&g_nhist, __ATOMIC_RELAXED) || !rw) return;
  auto* cw = reinterpret_cast<int32_t*>(static_cast<char*>(rw) + kCurWriterOff);
  int32_t w;
  if (sys::vm_read(&w, cw, sizeof w) != (long)sizeof w) return;
  if (w <= 0 || w == my_tid()) return;
  int32_t now = present_of(w);
  if (now) __atomic_compare_exchange_n(cw, &w, now, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

// glibc's own locks, which glibc takes and releases inside libc and the loader, past the
// wrappers: setlocale's and gettext's read-write locks (__libc_setlocale_lock, _nl_state_lock,
// the translation tree's), the loader's recursive mutexes (dlopen, dlsym, TLS). A thread
// checkpointed while holding one for writing (gcc checkpointed inside setlocale at its start)
// unlocked it after the restart as a reader — its tid no longer the __cur_writer — and the next
// gettext waited for ever. They live in libc's and ld.so's writable data (.data, .bss): at the
// restart those few pages are searched for a write-locked rwlock or a held mutex naming a tid of
// the checkpointed run, and it gets the thread's present tid.
bool lib_data(const char* line, size_t n) {
  // "... rw-p ... /usr/lib/x86_64-linux-gnu/libc.so.6" or ld-linux-x86-64.so.2
  auto ends = [&](const char* suf) {
    size_t k = sys::slen(suf);
    return n >= k && __builtin_memcmp(line + n - k, suf, k) == 0;
  };
  return ends("/libc.so.6") || ends("/ld-linux-x86-64.so.2");
}

void repair_lib_range(uint64_t a, uint64_t b) {
  for (uint64_t p = a; p + 56 <= b; p += 8) {
    auto* w = reinterpret_cast<const int32_t*>(p);
    // pthread_rwlock_t: __readers has WRLOCKED (2), __writers_futex 1 (a writer holds it),
    // __cur_writer at 24, __shared 0, __flags (48) a known preference
    if ((w[0] & 2) && (w[3] & 1) && w[6] > 0 && w[7] == 0 && (uint32_t)w[12] <= 2) repair_rw(reinterpret_cast<void*>(p));
    // pthread_mutex_t: held (lock word set), __owner at 8, a sane __nusers and __kind
    const int kind = w[4] & kKindMask;
    if (w[0] != 0 && w[2] > 0 && (uint32_t)w[3] < 4096 && (uint32_t)w[1] < (1u << 20) &&
        (kind <= 3 || (kind >= 16 && kind <= 19) || (kind >= 32 && kind <= 35) || (kind >= 48 && kind <= 51)))
      repair(reinterpret_cast<void*>(p));
  }
}

void repair_lib_locks() {
  long fd = sys::open("/proc/self/maps", sys::O_RDONLY_ | sys::O_CLOEXEC_);
  if (fd < 0) return;
  static char buf[8192];  // .bss (the checkpoint thread only)
  size_t have = 0;
  // The end of the library's rw data on the previous line: an anonymous rw mapping starting right
  // there is its .bss. (Only right there: in a restored process the stack is an unnamed mapping
  // too, and a local variable holding a tid must not be taken for a lock.)
  uint64_t lib_end = 0;
  for (;;) {
    long r = sys::read((int)fd, buf + have, sizeof buf - 1 - have);
    if (r <= 0) break;
    have += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
      if (buf[i] != '\n') continue;
      const char* line = buf + start;
      size_t n = i - start;
      start = i + 1;
      // "start-end perms offset dev inode [path]"
      const char* q = line;
      uint64_t a = sys::parse_u(&q, 16);
      q++;  // '-'
      uint64_t b = sys::parse_u(&q, 16);
      q++;
      bool rw = q + 4 <= line + n && q[0] == 'r' && q[1] == 'w' && q[3] == 'p';
      for (int field = 0; field < 4 && q < line + n; field++) {  // perms, offset, dev, inode
        while (q < line + n && *q != ' ') q++;
        while (q < line + n && *q == ' ') q++;
      }
      bool anon = q >= line + n;  // nothing after the inode
      if (rw && lib_data(line, n)) {
        repair_lib_range(a, b);
        lib_end = b;
      } else {
        if (rw && anon && lib_end && a == lib_end && b - a <= (1u << 20)) repair_lib_range(a, b);
        lib_end = 0;
      }
    }
    __builtin_memmove(buf, buf + start, have - start);
    have -= start;
    if (have == sizeof buf - 1) have = 0;  // a line longer than the buffer: not ours
  }
  sys::close((int)fd);
}

}  // namespace

// At each restart, on the checkpoint thread before any application thread runs: the tids the
// threads had in the checkpointed run (g_slots[i].rec.tid), by app tid.
void mutex_restarted() {
  uint32_t n = __atomic_load_n(&g_nhist, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < g.nslots; i++) {
    const amber_thread& r = g_slots[i].rec;
    if (r.tid <= 0) continue;
    int32_t app = (r.flags & AMBER_THR_MAIN) ? g.app_pid : pid::to_app_tid(g_handoff.new_tids[i]);
    if (app <= 0) continue;
    if (n == kHistory) {  // oldest first out: a tid that old is unlikely to be in any mutex still
      for (uint32_t k = 1; k < n; k++) g_hist[k - 1] = g_hist[k];
      n--;
    }
    g_hist[n++] = Old{r.tid, app};
  }
  __atomic_store_n(&g_nhist, n, __ATOMIC_RELEASE);
  repair_lib_locks();
}

// In the suspend handler: this thread's robust list head (the kernel forgets it with the task).
void robust_take(RobustHead* rh) {
  rh->head = 0;
  rh->len = 0;
  sys::sc3(274 /*get_robust_list*/, 0, (long)&rh->head, (long)&rh->len);
}

// In the suspend handler of a restored thread, before it is released: the list registered again,
// and the old tid in each held robust mutex replaced by ours.
void robust_restored(const RobustHead* rh, int32_t old_tid) {
  if (!rh->head || !rh->len) return;
  sys::sc2(273 /*set_robust_list*/, (long)rh->head, (long)rh->len);
  int32_t now = (int32_t)sys::gettid();
  if (old_tid <= 0 || old_tid == now) return;
  struct {
    uint64_t next;
    int64_t futex_offset;
    uint64_t pending;
  } head;
  if (sys::vm_read(&head, reinterpret_cast<void*>(rh->head), sizeof head) != (long)sizeof head) return;
  auto fix = [&](uint64_t entry) {
    auto* word = reinterpret_cast<int32_t*>(entry + (uint64_t)head.futex_offset);
    int32_t w;
    if (sys::vm_read(&w, word, sizeof w) != (long)sizeof w) return;
    if ((w & (int32_t)kTidMask) == old_tid) *word = (w & ~(int32_t)kTidMask) | now;
    auto* mh = reinterpret_cast<MutexHead*>(word);
    if (mh->owner == old_tid) mh->owner = now;
  };
  uint64_t e = head.next;
  for (int k = 0; k < 2048 && e && e != rh->head; k++) {  // the kernel's ROBUST_LIST_LIMIT
    fix(e);
    uint64_t nx;
    if (sys::vm_read(&nx, reinterpret_cast<void*>(e), sizeof nx) != (long)sizeof nx) break;
    e = nx;
  }
  if (head.pending) fix(head.pending);
}

}  // namespace amber

extern "C" {

// The next definitions, resolved in the constructor (a malloc that locks mutexes must not find
// the first lock resolving its own definition); on first use only before it.
enum {
  k_lock, k_trylock, k_unlock, k_timedlock, k_clocklock, k_consistent, k_cwait, k_ctimedwait, k_cclockwait,
  k_rdlock, k_tryrdlock, k_timedrdlock, k_clockrdlock, k_wrlock, k_trywrlock, k_timedwrlock, k_clockwrlock, k_rwunlock,
  kFns
};
static const char* const kNames[kFns] = {"pthread_mutex_lock",      "pthread_mutex_trylock", "pthread_mutex_unlock",
                                         "pthread_mutex_timedlock", "pthread_mutex_clocklock", "pthread_mutex_consistent",
                                         "pthread_cond_wait",       "pthread_cond_timedwait", "pthread_cond_clockwait",
                                         "pthread_rwlock_rdlock",   "pthread_rwlock_tryrdlock", "pthread_rwlock_timedrdlock",
                                         "pthread_rwlock_clockrdlock", "pthread_rwlock_wrlock", "pthread_rwlock_trywrlock",
                                         "pthread_rwlock_timedwrlock", "pthread_rwlock_clockwrlock", "pthread_rwlock_unlock"};
static void* g_fn[kFns];

static void* resolve(int i) {
  void* f = __atomic_load_n(&g_fn[i], __ATOMIC_ACQUIRE);
  if (!f) {
    f = dlsym(RTLD_NEXT, kNames[i]);
    __atomic_store_n(&g_fn[i], f, __ATOMIC_RELEASE);
  }
  return f;
}

__attribute__((constructor)) static void mutex_init() {
  for (int i = 0; i < kFns; i++) resolve(i);
}

#define AMBER_SYNC_WRAP(fix, ret, name, params, args, m)          \
  __attribute__((visibility("default"))) ret name params {         \
    using F = ret(*) params;                                        \
    F f = reinterpret_cast<F>(resolve(k_##name));                   \
    amber::fix(m);                                                  \
    return f args;                                                  \
  }
#define AMBER_MUTEX_WRAP(...) AMBER_SYNC_WRAP(repair, __VA_ARGS__)
#define AMBER_RWLOCK_WRAP(...) AMBER_SYNC_WRAP(repair_rw, __VA_ARGS__)

#define k_pthread_mutex_lock k_lock
#define k_pthread_mutex_trylock k_trylock
#define k_pthread_mutex_unlock k_unlock
#define k_pthread_mutex_timedlock k_timedlock
#define k_pthread_mutex_clocklock k_clocklock
#define k_pthread_mutex_consistent k_consistent
#define k_pthread_cond_wait k_cwait
#define k_pthread_cond_timedwait k_ctimedwait
#define k_pthread_cond_clockwait k_cclockwait
#define k_pthread_rwlock_rdlock k_rdlock
#define k_pthread_rwlock_tryrdlock k_tryrdlock
#define k_pthread_rwlock_timedrdlock k_timedrdlock
#define k_pthread_rwlock_clockrdlock k_clockrdlock
#define k_pthread_rwlock_wrlock k_wrlock
#define k_pthread_rwlock_trywrlock k_trywrlock
#define k_pthread_rwlock_timedwrlock k_timedwrlock
#define k_pthread_rwlock_clockwrlock k_clockwrlock
#define k_pthread_rwlock_unlock k_rwunlock

AMBER_MUTEX_WRAP(int, pthread_mutex_lock, (pthread_mutex_t * m), (m), m)
AMBER_MUTEX_WRAP(int, pthread_mutex_trylock, (pthread_mutex_t * m), (m), m)
AMBER_MUTEX_WRAP(int, pthread_mutex_unlock, (pthread_mutex_t * m), (m), m)
AMBER_MUTEX_WRAP(int, pthread_mutex_timedlock, (pthread_mutex_t * m, const struct timespec* t), (m, t), m)
AMBER_MUTEX_WRAP(int, pthread_mutex_clocklock, (pthread_mutex_t * m, clockid_t c, const struct timespec* t), (m, c, t), m)
AMBER_MUTEX_WRAP(int, pthread_mutex_consistent, (pthread_mutex_t * m), (m), m)
AMBER_MUTEX_WRAP(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t* m), (c, m), m)
AMBER_MUTEX_WRAP(int, pthread_cond_timedwait, (pthread_cond_t * c, pthread_mutex_t* m, const struct timespec* t), (c, m, t), m)
AMBER_MUTEX_WRAP(int, pthread_cond_clockwait, (pthread_cond_t * c, pthread_mutex_t* m, clockid_t k, const struct timespec* t),
                 (c, m, k, t), m)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t * l), (l), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t * l, const struct timespec* t), (l, t), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec* t), (l, c, t), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_trywrlock, (pthread_rwlock_t * l), (l), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t * l, const struct timespec* t), (l, t), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec* t), (l, c, t), l)
AMBER_RWLOCK_WRAP(int, pthread_rwlock_unlock, (pthread_rwlock_t * l), (l), l)

}  // extern "C"
