// The agent's own descriptor (its coordinator socket, g.coord_fd, at 900 or above) kept out of
// the program's way. A daemon closes every descriptor it did not open (a loop over
// /proc/self/fd, close_range(3, ~0U), closefrom(3)) or dup2's onto any number it likes: the agent
// must keep its link to the coordinator, and the program must not see a descriptor it never
// opened. So, for the program, that number is one it never had:
//  - close(fd) answers EBADF, as the kernel does for a number that is not open;
//  - close_range / closefrom close everything in the range but it;
//  - dup2 / dup3 onto it first move the agent's socket to another number (the program's
//    descriptor then takes that number, as it would);
//  - readdir of /proc/self/fd (/proc/PID/fd, /proc/thread-self/fd, /dev/fd) skips it.
// The same readdir keeps the agent's checkpoint thread out of thread lists (/proc/<pid>/task of
// this process or another one of the computation, where the program counts threads) and, in our
// own list after a restart, shows the tids the program knows.
// Calls that name it otherwise (fcntl, read ...) are not filtered. syscall(SYS_close ...) is
// (pid/calls.cc).
// node-gyp builds with _FILE_OFFSET_BITS=64, which makes glibc's headers declare readdir as an
// alias of readdir64: these wrappers must define each symbol under its own name.
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>

#include "fd/file.h"
#include "agent/agent.h"
#include "agent/ownfd.h"
#include "pid/pid.h"
#include "proc/children.h"
#include "sys/sys.h"

namespace amber {
namespace ownfd {
namespace {
int agent_fd() { return __atomic_load_n(&g.coord_fd, __ATOMIC_ACQUIRE); }

// Moves the agent's socket off `fd` (a number the program is about to take). Senders hold
// send_lock (agent.cc coord_send): they see the old number or the new one, never a closed one.
long move_off(int fd) {
  uint64_t block = park_block_mask(), old = 0;
  sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &block, &old);
  while (__atomic_exchange_n(&g.send_lock, 1u, __ATOMIC_ACQUIRE)) sys::sc0(24 /*sched_yield*/);
  long r = 0;
  if (agent_fd() == fd) {
    r = sys::fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
    if (r >= 0) __atomic_store_n(&g.coord_fd, (int)r, __ATOMIC_RELEASE);
    // The old number stays open until the program's dup2 replaces it (a read in progress on the
    // checkpoint thread finishes on the same socket).
  }
  __atomic_store_n(&g.send_lock, 0u, __ATOMIC_RELEASE);
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &old, nullptr);
  return r < 0 ? r : 0;
}

bool digits_eq(const char* s, int v) {
  char num[16];
  sys::Out o(num, sizeof num);
  o.i(v);
  num[o.len < sizeof num ? o.len : sizeof num - 1] = 0;
  return sys::seq(s, num);
}

// Is directory descriptor dfd this process's descriptor table (/proc/<pid>/fd or
// /proc/<pid>/task/<tid>/fd, by whatever name it was opened)?
bool is_own_fd_dir(int dfd) {
  char l[96];
  if (sys::fd_link(dfd, l, sizeof l) <= 0) return false;
  if (!sys::sstarts(l, "/proc/")) return false;
  const char* q = l + 6;
  uint64_t pid = sys::parse_u(&q, 10);
  if ((long)pid != sys::getpid()) return false;
  if (sys::seq(q, "/fd")) return true;
  if (!sys::sstarts(q, "/task/")) return false;
  q += 6;
  sys::parse_u(&q, 10);
  return sys::seq(q, "/fd");
}
}  // namespace

long close(int fd) {
  int a = agent_fd();
  if (a >= 0 && fd == a) return -EBADF;
  fd::dnotify_closed(fd);  // the kernel ends its dnotify registration with it
  amber::inotify::closed(fd);
  amber::fanotify::closed(fd);
  if (fd >= 0) pid::id_files_closed((unsigned)fd, (unsigned)fd);
  return 1;  // not ours: the caller closes it
}

long close_range(unsigned first, unsigned last, int flags) {
  if (!(flags & 4 /*CLOSE_RANGE_CLOEXEC: nothing closed now*/) && first <= last) pid::id_files_closed(first, last);
  int a = agent_fd();
  if (a < 0 || (unsigned)a < first || (unsigned)a > last || first > last)
    return sys::sc3(sys::NR_close_range, first, last, flags);
  long r = 0;
  if ((unsigned)a > first) r = sys::sc3(sys::NR_close_range, first, (unsigned)a - 1, flags);
  if (r == 0 && (unsigned)a < last) r = sys::sc3(sys::NR_close_range, (unsigned)a + 1, last, flags);
  return r;
}

long before_dup(int oldfd, int newfd) {
  fd::dnotify_closed(newfd);
  amber::inotify::closed(newfd);
  amber::fanotify::closed(newfd);
  if (newfd >= 0 && newfd != oldfd) pid::id_files_closed((unsigned)newfd, (unsigned)newfd);
  int a = agent_fd();
  if (a < 0) return 0;
  if (oldfd == a) return -EBADF;
  if (newfd == a) return move_off(newfd);
  return 0;
}

namespace {
// Which process's thread list (/proc/<pid>/task) a DIR reads, 0 for any other directory:
// remembered per DIR from its first numeric entry and forgotten at closedir (before the DIR can be
// reused), so a listing costs one readlink, not one per entry. The table's lock is only tried by
// readdir (a busy table costs a readlink, never a wait) and held for a few loads and stores, no
// system call; closedir must clear its entry and waits for it. A fork taken while another thread
// held it leaves the child's copy held: the child clears it (forked).
struct DirKind {
  DIR* d;
  int32_t pid;
};
constexpr int kDirs = 32;
DirKind g_dirs[kDirs];
uint32_t g_dirs_next;
int g_dirs_lock;

bool dirs_try_lock() { return !__atomic_exchange_n(&g_dirs_lock, 1, __ATOMIC_ACQUIRE); }
void dirs_unlock() { __atomic_store_n(&g_dirs_lock, 0, __ATOMIC_RELEASE); }

int32_t task_dir_pid(int dfd) {
  char l[96];
  if (sys::fd_link(dfd, l, sizeof l) <= 0) return 0;
  if (!sys::sstarts(l, "/proc/")) return 0;
  const char* q = l + 6;
  uint64_t pid = sys::parse_u(&q, 10);
  return pid > 0 && pid <= 0x7fffffff && sys::seq(q, "/task") ? (int32_t)pid : 0;
}

int32_t dir_task_pid(DIR* d) {
  if (dirs_try_lock()) {
    for (int i = 0; i < kDirs; i++)
      if (g_dirs[i].d == d) {
        int32_t pid = g_dirs[i].pid;
        dirs_unlock();
        return pid;
      }
    dirs_unlock();
  }
  int32_t pid = task_dir_pid(dirfd(d));
  if (dirs_try_lock()) {
    g_dirs[g_dirs_next++ % kDirs] = DirKind{d, pid};
    dirs_unlock();
  }
  return pid;
}

// Is thread tid of another process pid an agent's checkpoint thread (agent.h: by its name)?
bool other_ckpt_thread(int32_t pid, int32_t tid) {
  if (tid == pid) return false;  // a leader never is (and its name needs no read)
  char p[80], c[32];
  sys::Out o(p, sizeof p);
  o.s("/proc/").i(pid).s("/task/").i(tid).s("/comm");
  p[o.len < sizeof p ? o.len : sizeof p - 1] = 0;
  long fd = sys::open(p, 02000000 /*O_RDONLY|O_CLOEXEC*/);
  if (fd < 0) return false;
  long n = sys::read((int)fd, c, sizeof c - 1);
  sys::close((int)fd);
  if (n <= 0) return false;
  c[n] = 0;
  if (c[n - 1] == '\n') c[n - 1] = 0;
  return is_ckpt_thread(pid, tid, c);
}
}  // namespace

int ckpt_threads(int32_t pid) {
  int32_t self = (int32_t)sys::getpid();
  if (pid == self) {
    // Ours, if it runs in this process (a vfork child shares our memory, not our threads).
    int32_t t = g.ckpt_tid;
    return t > 0 && t != self && sys::tgkill(self, t, 0) == 0 ? 1 : 0;
  }
  char dents[1024];
  int n = 0;
  each_thread(pid, dents, sizeof dents, [&](int32_t tid) {
    n = other_ckpt_thread(pid, tid) ? 1 : 0;  // one agent, one thread
    return !n;
  });
  return n;
}

void dir_closed(DIR* d) {
  while (!dirs_try_lock()) sys::sc0(24 /*sched_yield*/);
  for (int i = 0; i < kDirs; i++)
    if (g_dirs[i].d == d) g_dirs[i].d = nullptr;
  dirs_unlock();
}

void forked() { dirs_unlock(); }

bool hide(DIR* d, char* name, size_t cap) {
  if (!d || name[0] < '0' || name[0] > '9') return false;
  int a = agent_fd();
  if (a >= 0 && digits_eq(name, a) && is_own_fd_dir(dirfd(d))) return true;
  // A thread list (/proc/<pid>/task): a process's checkpoint thread is the agent's, not the
  // program's (which counts its threads, or its child's, there). After a restart the names are
  // this run's kernel tids; the program knows the ones gettid gave it (its own threads through
  // the tid map, another process's through the computation's pid map, which carries them).
  const char* q = name;
  uint64_t v = sys::parse_u(&q, 10);
  if (*q || v == 0 || v > 0x7fffffff) return false;
  int32_t pid = dir_task_pid(d);
  if (!pid) return false;
  if (pid != (int32_t)sys::getpid() ? other_ckpt_thread(pid, (int32_t)v) : (int32_t)v == g.ckpt_tid) return true;
  int32_t app = amber::pid::to_app_tid((int32_t)v);
  if (app == (int32_t)v) return false;
  char num[16];
  sys::Out o(num, sizeof num);
  o.i(app);
  if (o.len + 1 > cap || o.len + 1 > sizeof num) return false;  // no room: the kernel's name stays
  __builtin_memcpy(name, num, o.len);
  name[o.len] = 0;
  return false;
}
}  // namespace ownfd
}  // namespace amber

namespace {
template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
inline long ret(long r) {
  if (r < 0) { errno = (int)-r; return -1; }
  return r;
}
}  // namespace

extern "C" {
__attribute__((visibility("default"))) int close(int fd) {
  using F = int (*)(int);
  static F f = next<F>("close");
  long r = amber::ownfd::close(fd);
  if (r < 0) return (int)ret(r);
  return f(fd);
}

__attribute__((visibility("default"))) int close_range(unsigned first, unsigned last, int flags) {
  return (int)ret(amber::ownfd::close_range(first, last, flags));
}

__attribute__((visibility("default"))) void closefrom(int low) {
  // glibc's falls back to closing what /proc/self/fd lists when close_range fails: so do we.
  unsigned from = low < 0 ? 0u : (unsigned)low;
  if (amber::ownfd::close_range(from, ~0u, 0) == 0) return;
  for (int fd = (int)from; fd < 65536; fd++) if (amber::ownfd::close(fd) > 0) sys::close(fd);
}

__attribute__((visibility("default"))) int dup2(int oldfd, int newfd) {
  using F = int (*)(int, int);
  static F f = next<F>("dup2");
  if (oldfd != newfd) {
    long r = amber::ownfd::before_dup(oldfd, newfd);
    if (r < 0) return (int)ret(r);
  } else if (amber::ownfd::close(oldfd) < 0) {
    return (int)ret(-EBADF);
  }
  return f(oldfd, newfd);
}

__attribute__((visibility("default"))) int dup3(int oldfd, int newfd, int flags) {
  using F = int (*)(int, int, int);
  static F f = next<F>("dup3");
  if (oldfd != newfd) {
    long r = amber::ownfd::before_dup(oldfd, newfd);
    if (r < 0) return (int)ret(r);
  }
  return f(oldfd, newfd, flags);
}

__attribute__((visibility("default"))) int closedir(DIR* d) {
  using F = int (*)(DIR*);
  static F f = next<F>("closedir");
  amber::ownfd::dir_closed(d);
  return f(d);
}

__attribute__((visibility("default"))) struct dirent* readdir(DIR* d) {
  using F = struct dirent* (*)(DIR*);
  static F f = next<F>("readdir");
  struct dirent* e;
  do e = f(d);
  while (e && amber::ownfd::hide(d, e->d_name, e->d_reclen - offsetof(struct dirent, d_name)));
  return e;
}

__attribute__((visibility("default"))) struct dirent64* readdir64(DIR* d) {
  using F = struct dirent64* (*)(DIR*);
  static F f = next<F>("readdir64");
  struct dirent64* e;
  do e = f(d);
  while (e && amber::ownfd::hide(d, e->d_name, e->d_reclen - offsetof(struct dirent64, d_name)));
  return e;
}
}  // extern "C"
