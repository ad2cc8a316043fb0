// Pid virtualization, part 2: the libc calls and raw system calls that take or return a pid or a
// tid, besides the core set in pid.cc (getpid/getppid/gettid/kill/wait*). Each translates its pid
// arguments app -> kernel (pid::to_real_tid: the kernel accepts a tid wherever these take a pid)
// and its pid results kernel -> app. Before the first restart both maps are empty and every
// translation is one load and a branch.
//
// These wrappers may run in vfork children and signal handlers: no allocation, no locks, no
// dlsym. The simple ones issue the system call themselves through the raw layer (sys.h), doing
// exactly what glibc 2.36's own wrapper does around it; none of them is a cancellation point in
// glibc either. pid 0 ("self") and -1 ("every process") pass through unchanged.
// node-gyp builds with _FILE_OFFSET_BITS=64, which makes glibc's headers declare prlimit, stat,
// open... as aliases of their *64 twins; these wrappers must define each symbol under its own name.
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "proc/rlimit.h"
#include "agent/ownfd.h"
#include "fd/file.h"
#include <sys/prctl.h>

#include "proc/seccomp.h"
#include "sys/sys.h"
#include "sys/usermem.h"

using amber::pid::to_app;
using amber::pid::to_app_tid;
using amber::pid::to_real;
using amber::pid::to_real_tid;

namespace {

// glibc's convention for a raw result: -errno -> -1 with errno set.
inline long ret(long r) {
  if ((unsigned long)r > -4096ul) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

inline long L(int32_t v) { return (long)v; }
inline int32_t I(long v) { return (int32_t)v; }

// getpriority/setpriority `who`: a tid for PRIO_PROCESS, a process group id for PRIO_PGRP (the
// group's leader's pid), a uid for PRIO_USER (untouched).
inline long prio_who(long which, long who) {
  if (which == PRIO_PROCESS || which == PRIO_PGRP) return L(to_real_tid(I(who)));
  return who;
}

// The text of a small file (a /proc stat or status), NUL-terminated: its length or -errno.
long file_text(const char* path, char* buf, size_t cap) {
  long fd = sys::open(path, 0 /*O_RDONLY*/ | 02000000 /*O_CLOEXEC*/);
  if (fd < 0) return fd;
  long n = sys::read((int)fd, buf, cap - 1);
  sys::close((int)fd);
  if (n < 0) return n;
  buf[n] = 0;
  return n;
}

// From a /proc stat line: the comm (into comm) and the numeric field `field` (1-based, as proc(5)
// counts: 5 pgrp, 19 nice). False when it does not parse.
bool stat_field(const char* st, char* comm, size_t cap, int field, long* out) {
  const char* open = strchr(st, '(');
  const char* close = nullptr;
  for (const char* q = st; *q; q++)
    if (*q == ')') close = q;
  if (!open || !close || close < open) return false;
  size_t n = (size_t)(close - open - 1);
  if (n >= cap) n = cap - 1;
  __builtin_memcpy(comm, open + 1, n);
  comm[n] = 0;
  const char* q = close + 1;
  for (int f = 3; f <= field; f++) {
    while (*q == ' ') q++;
    if (!*q) return false;
    if (f == field) {
      bool neg = *q == '-';
      if (neg) q++;
      uint64_t v = sys::parse_u(&q, 10);
      *out = neg ? -(long)v : (long)v;
      return true;
    }
    while (*q && *q != ' ') q++;
  }
  return false;
}

// Each numeric entry of directory `dir` (a raw getdents64 walk), handed to fn.
template <typename Fn>
void each_number(const char* dir, Fn fn) {
  long fd = sys::open(dir, 0200000 /*O_DIRECTORY*/ | 02000000 /*O_CLOEXEC*/);
  if (fd < 0) return;
  alignas(8) char buf[4096];
  for (;;) {
    long n = sys::getdents64((int)fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      const char* name = buf + at + 19;  // struct linux_dirent64: ino 8, off 8, reclen 2, type 1
      uint16_t reclen;
      __builtin_memcpy(&reclen, buf + at + 16, 2);
      at += reclen;
      if (*name < '0' || *name > '9') continue;
      const char* q = name;
      uint64_t v = sys::parse_u(&q, 10);
      if (!*q) fn((long)v);
    }
  }
  sys::close((int)fd);
}

// getpriority(PRIO_PGRP / PRIO_USER) is the kernel's best (20 - nice) over every thread of the
// group's or user's processes, and each process of the computation has one more: its checkpoint
// thread (is_ckpt_thread, agent/agent.h), at the nice it started with whatever the program set
// since (nice is per thread). So the answer is counted here over /proc without those threads.
// Returns 20 - nice, or 0 when nothing was counted (the caller keeps the kernel's answer).
long prio_best(long which, long who) {
  if (which == PRIO_PGRP && who == 0) who = sys::sc0(SYS_getpgrp);
  if (which == PRIO_USER && who == 0) who = sys::sc0(SYS_getuid);
  long best = 0;
  each_number("/proc", [&](long pid) {
    char path[64], text[1024], comm[32];
    long v = 0;
    sys::Out o(path, sizeof path);
    if (which == PRIO_PGRP) {
      o.s("/proc/").i(pid).s("/stat");
      path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
      if (file_text(path, text, sizeof text) <= 0 || !stat_field(text, comm, sizeof comm, 5, &v) || v != who) return;
    } else {
      o.s("/proc/").i(pid).s("/status");
      path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
      char st[2048];
      if (file_text(path, st, sizeof st) <= 0) return;
      const char* u = strstr(st, "\nUid:");
      if (!u) return;
      u += 5;
      while (*u == '\t' || *u == ' ') u++;
      if ((long)sys::parse_u(&u, 10) != who) return;
    }
    char tdir[48];
    sys::Out t(tdir, sizeof tdir);
    t.s("/proc/").i(pid).s("/task");
    tdir[t.len < sizeof tdir ? t.len : sizeof tdir - 1] = 0;
    each_number(tdir, [&](long tid) {
      char tp[80], tt[1024], tc[32];
      long nice = 0;
      sys::Out w(tp, sizeof tp);
      w.s("/proc/").i(pid).s("/task/").i(tid).s("/stat");
      tp[w.len < sizeof tp ? w.len : sizeof tp - 1] = 0;
      if (file_text(tp, tt, sizeof tt) <= 0 || !stat_field(tt, tc, sizeof tc, 19, &nice)) return;
      if (amber::is_ckpt_thread((int32_t)pid, (int32_t)tid, tc)) return;
      if (20 - nice > best) best = 20 - nice;
    });
  });
  return best;
}

// ioprio_get/set `who`, same idea: IOPRIO_WHO_PROCESS 1, IOPRIO_WHO_PGRP 2, IOPRIO_WHO_USER 3.
inline long ioprio_who(long which, long who) {
  if (which == 1 || which == 2) return L(to_real_tid(I(who)));
  return who;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int tgkill(pid_t tgid, pid_t tid, int sig) {
  return (int)ret(sys::tgkill(to_real(tgid), to_real_tid(tid), sig));
}

// As glibc does, si_pid is our kernel pid: the receiver's agent translates the si_pid of every
// user-sent signal (SI_USER, SI_QUEUE, ...) to the app pid in its handler trampoline and in
// sigwaitinfo (agent/wrappers.cc), so an app pid here would be translated twice.
__attribute__((visibility("default"))) int sigqueue(pid_t pid, int sig, const union sigval val) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  info.si_signo = sig;
  info.si_code = SI_QUEUE;
  info.si_pid = (pid_t)sys::getpid();
  info.si_uid = (uid_t)sys::sc0(SYS_getuid);
  info.si_value = val;
  return (int)ret(sys::sc3(SYS_rt_sigqueueinfo, L(to_real(pid)), sig, (long)&info));
}

__attribute__((visibility("default"))) int sched_setaffinity(pid_t pid, size_t size, const cpu_set_t* set) {
  return (int)ret(sys::sc3(SYS_sched_setaffinity, L(to_real_tid(pid)), (long)size, (long)set));
}

// As glibc: the kernel returns how many bytes it wrote; the rest of the caller's set is zeroed and
// the call returns 0.
__attribute__((visibility("default"))) int sched_getaffinity(pid_t pid, size_t size, cpu_set_t* set) {
  long r = sys::sc3(SYS_sched_getaffinity, L(to_real_tid(pid)), (long)(size > 0x7fffffff ? 0x7fffffff : size),
                    (long)set);
  if (r < 0) return (int)ret(r);
  memset(reinterpret_cast<char*>(set) + r, 0, size - (size_t)r);
  return 0;
}

__attribute__((visibility("default"))) int sched_setscheduler(pid_t pid, int policy, const struct sched_param* p) {
  return (int)ret(sys::sc3(SYS_sched_setscheduler, L(to_real_tid(pid)), policy, (long)p));
}

__attribute__((visibility("default"))) int sched_getscheduler(pid_t pid) {
  return (int)ret(sys::sc1(SYS_sched_getscheduler, L(to_real_tid(pid))));
}

__attribute__((visibility("default"))) int sched_setparam(pid_t pid, const struct sched_param* p) {
  return (int)ret(sys::sc2(SYS_sched_setparam, L(to_real_tid(pid)), (long)p));
}

__attribute__((visibility("default"))) int sched_getparam(pid_t pid, struct sched_param* p) {
  return (int)ret(sys::sc2(SYS_sched_getparam, L(to_real_tid(pid)), (long)p));
}

__attribute__((visibility("default"))) int sched_rr_get_interval(pid_t pid, struct timespec* ts) {
  return (int)ret(sys::sc2(SYS_sched_rr_get_interval, L(to_real_tid(pid)), (long)ts));
}

// As glibc: the kernel returns 20 - nice (1..40) so that no success value looks like an error.
__attribute__((visibility("default"))) int getpriority(__priority_which_t which, id_t who) {
  long w = prio_who(which, (long)(int32_t)who);
  long r = sys::sc2(SYS_getpriority, which, w);
  if (r < 0) return (int)ret(r);
  if (which == PRIO_PGRP || which == PRIO_USER)
    if (long b = prio_best(which, w)) r = b;
  return 20 - (int)r;
}

__attribute__((visibility("default"))) int setpriority(__priority_which_t which, id_t who, int prio) {
  return (int)ret(sys::sc3(SYS_setpriority, which, prio_who(which, (long)(int32_t)who), prio));
}

__attribute__((visibility("default"))) int prlimit(pid_t pid, enum __rlimit_resource res, const struct rlimit* nl,
                                                   struct rlimit* ol) {
  return (int)ret(amber::rlim::prlimit(to_real_tid(pid), res, nl, ol));
}

// x86-64: struct rlimit64 and struct rlimit are the same.
__attribute__((visibility("default"))) int prlimit64(pid_t pid, enum __rlimit_resource res, const struct rlimit64* nl,
                                                     struct rlimit64* ol) {
  return (int)ret(amber::rlim::prlimit(to_real_tid(pid), res, nl, ol));
}

__attribute__((visibility("default"))) int pidfd_open(pid_t pid, unsigned int flags) {
  return (int)ret(sys::sc2(SYS_pidfd_open, L(to_real(pid)), flags));
}

// Cross-memory attach (Open MPI's and MPICH's single-copy shared-memory transports): the pid is
// a peer's as the application knows it, exchanged before a restart.
__attribute__((visibility("default"))) ssize_t process_vm_readv(pid_t pid, const struct iovec* lv, unsigned long ln,
                                                               const struct iovec* rv, unsigned long rn, unsigned long fl) {
  return ret(sys::sc6(SYS_process_vm_readv, L(to_real_tid(pid)), (long)lv, (long)ln, (long)rv, (long)rn, (long)fl));
}
__attribute__((visibility("default"))) ssize_t process_vm_writev(pid_t pid, const struct iovec* lv, unsigned long ln,
                                                                const struct iovec* rv, unsigned long rn, unsigned long fl) {
  return ret(sys::sc6(SYS_process_vm_writev, L(to_real_tid(pid)), (long)lv, (long)ln, (long)rv, (long)rn, (long)fl));
}

// syscall(2) for the numbers that carry pids; every other number goes to the kernel as is. Six
// arguments are always taken (as glibc's own syscall does: the unused ones are whatever is in the
// registers). Like glibc's syscall this is not a cancellation point; and as with it, SYS_vfork or
// a clone onto another stack cannot work through a C function.
__attribute__((visibility("default"))) int capget(void* hdr, void* data);
__attribute__((visibility("default"))) long syscall(long n, ...) {
  va_list ap;
  va_start(ap, n);
  long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
  long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
  va_end(ap);
  long r;
  switch (n) {
    case SYS_getpid: return amber::pid::app_getpid();
    case SYS_getppid: return amber::pid::app_getppid();
    case SYS_gettid: return amber::pid::app_gettid();
    case SYS_kill: return ret(sys::kill(to_real_tid(I(a)), (int)b));
    case SYS_tkill: return ret(sys::sc2(SYS_tkill, L(to_real_tid(I(a))), b));
    case SYS_tgkill: return ret(sys::tgkill(to_real(I(a)), to_real_tid(I(b)), (int)c));
    case SYS_rt_sigqueueinfo: return ret(sys::sc3(n, L(to_real(I(a))), b, c));
    case SYS_rt_tgsigqueueinfo: return ret(sys::sc4(n, L(to_real(I(a))), L(to_real_tid(I(b))), c, d));
    case SYS_wait4:
      {
        amber::pid::WaitScope in;  // our translation below, not the trampoline's (syscall/rewind.cc)
        r = sys::sc4(n, L(to_real(I(a))), b, c, d);
      }
      if (r == -ECHILD) amber::echild_settle();
      return r > 0 ? L(to_app(I(r))) : ret(r);
    case SYS_waitid:
      // P_PID 1, P_PGID 2 name a pid; the siginfo's si_pid is the child's kernel pid.
      if (a == P_PID || a == P_PGID) b = L(to_real(I(b)));
      {
        amber::pid::WaitScope in;
        r = sys::sc5(n, a, b, c, d, e);
      }
      if (r == -ECHILD) amber::echild_settle();
      if (r == 0 && c) {
        siginfo_t* si = reinterpret_cast<siginfo_t*>(c);
        if (si->si_pid) si->si_pid = to_app(si->si_pid);
      }
      return ret(r);
    case SYS_sched_setaffinity:
    case SYS_sched_getaffinity:
    case SYS_sched_setscheduler:
    case SYS_sched_getscheduler:
    case SYS_sched_setparam:
    case SYS_sched_getparam:
    case SYS_sched_rr_get_interval:
    case SYS_sched_setattr:
    case SYS_sched_getattr:
    case SYS_process_vm_readv:
    case SYS_process_vm_writev:
      return ret(sys::sc6(n, L(to_real_tid(I(a))), b, c, d, e, f));
    case SYS_prlimit64: return ret(amber::rlim::prlimit(L(to_real_tid(I(a))), (int)b, (const void*)c, (void*)d));
    case SYS_kcmp: return ret(sys::sc5(n, L(to_real_tid(I(a))), L(to_real_tid(I(b))), c, d, e));
    // A thread's robust list head, NUMA page moves and migrations of a task named by its id (0: us)
    case SYS_get_robust_list:
    case SYS_move_pages:
    case SYS_migrate_pages:
      return ret(sys::sc6(n, L(to_real_tid(I(a))), b, c, d, e, f));
    case SYS_capget: return capget(reinterpret_cast<void*>(a), reinterpret_cast<void*>(b));
    case SYS_landlock_restrict_self:
      // A sandbox the restart could not rebuild: the checkpoint refuses it by name (agent/writer.cc).
      r = sys::sc2(n, a, b);
      if (r == 0) amber::g.landlocked = true;
      return ret(r);
    case SYS_rseq:
      // A registration of the thread's own: a restart registers it again (thread/thread.cc).
      r = sys::sc4(n, a, b, c, d);
      amber::note_rseq(a, b, c, d, r);
      return ret(r);
    case SYS_pidfd_open: return ret(sys::sc2(n, L(to_real(I(a))), b));
    case SYS_getpriority:
      b = prio_who(a, L(I(b)));
      r = sys::sc2(n, a, b);
      if (r > 0 && (a == PRIO_PGRP || a == PRIO_USER))
        if (long best = prio_best(a, b)) r = best;
      return ret(r);
    case SYS_setpriority: return ret(sys::sc3(n, a, prio_who(a, L(I(b))), c));
    case SYS_ioprio_get:
    case SYS_ioprio_set: return ret(sys::sc3(n, a, ioprio_who(a, L(I(b))), c));
    case SYS_getpgid:
    case SYS_getsid:
      r = sys::sc1(n, L(to_real(I(a))));
      return r > 0 ? L(to_app(I(r))) : ret(r);
    case SYS_setpgid: return ret(sys::sc2(n, L(to_real(I(a))), L(to_real(I(b)))));
    case SYS_getpgrp:
    case SYS_setsid:
      r = sys::sc0(n);
      return r > 0 ? L(to_app(I(r))) : ret(r);
    // The agent's own descriptor is not the program's (agent/ownfd.cc).
    case SYS_close:
      r = amber::ownfd::close((int)a);
      return r < 0 ? ret(r) : ret(sys::sc1(n, a));
    case SYS_close_range: return ret(amber::ownfd::close_range((unsigned)a, (unsigned)b, (int)c));
    case SYS_capset:
      r = sys::sc2(n, a, b);
      if (r == 0) amber::creds_follow();
      return ret(r);
    case SYS_prctl: return prctl((int)a, b, c, d, e);
    // Linux AIO: requests in flight are noted for a checkpoint (mem/aio.cc).
    case SYS_io_setup:
    case SYS_io_destroy:
    case SYS_io_submit:
    case SYS_io_cancel: return ret(amber::aio::call(n, a, b, c));
    // fanotify marks are kept by path to be made again at restart (fd/fanotify.cc).
    case SYS_fanotify_mark: return ret(amber::fanotify::mark((int)a, (unsigned)b, (uint64_t)c, (int)d, reinterpret_cast<const char*>(e)));
    // Filters are kept to be installed again at restart (proc/seccomp.agent.cc); libseccomp calls this.
    case SYS_seccomp: return ret(amber::seccomp::set_mode((unsigned)a, (unsigned)b, reinterpret_cast<void*>(c)));
    case SYS_dup2:
    case SYS_dup3:
      if (a != b && (r = amber::ownfd::before_dup((int)a, (int)b)) < 0) return ret(r);
      return ret(sys::sc3(n, a, b, c));
    default:
      if (amber::sig_syscall(n, a, b, c, d, e, f, &r)) return ret(r);  // (agent/wrappers.cc)
      return ret(sys::sc6(n, a, b, c, d, e, f));
  }
}

// prctl(2), as glibc's (a plain system call), for the options that carry state the agent keeps or
// a pid: PR_SET_SECCOMP's filters (proc/seccomp.agent.cc), PR_SET_PTRACER's pid.
__attribute__((visibility("default"))) int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  unsigned long a = va_arg(ap, unsigned long), b = va_arg(ap, unsigned long);
  unsigned long c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long);
  va_end(ap);
  if (option == PR_SET_SECCOMP && a == 2 /*SECCOMP_MODE_FILTER*/)
    return (int)ret(amber::seccomp::set_mode(1 /*SECCOMP_SET_MODE_FILTER*/, 0, reinterpret_cast<void*>(b)));
  if (option == PR_SET_PTRACER && a != 0 && a != (unsigned long)PR_SET_PTRACER_ANY)
    a = (unsigned long)L(to_real(I((long)a)));
  long r = sys::prctl(option, (long)a, (long)b, (long)c, (long)d);
  if (r >= 0 && (option == PR_SET_KEEPCAPS || option == PR_SET_SECUREBITS)) amber::creds_note_prctl(option, a);
  if (r >= 0 && (option == PR_CAPBSET_DROP || option == PR_CAP_AMBIENT)) amber::creds_follow();
  return (int)ret(r);
}

// capget(2) of another thread names it by the pid in its header (libcap's cap_get_pid): the
// application's id, taken to this run's on a copy of the header. The kernel writes the version it
// prefers back into the header when it refuses the one given: that word is copied back.
__attribute__((visibility("default"))) int capget(void* hdr, void* data) {
  struct Hdr {
    uint32_t version;
    int32_t pid;
  } h;
  if (!hdr || sys::vm_read(&h, hdr, sizeof h) != (long)sizeof h) return (int)ret(sys::sc2(125 /*capget*/, (long)hdr, (long)data));
  int32_t app = h.pid;
  if (h.pid > 0) h.pid = to_real_tid(h.pid);
  long r = sys::sc2(125 /*capget*/, (long)&h, (long)data);
  h.pid = app;
  sys::vm_write(hdr, &h, sizeof h);
  return (int)ret(r);
}

// capset(2) changes the calling thread only: the checkpoint thread follows (proc/creds.cc).
__attribute__((visibility("default"))) int capset(void* hdr, const void* data) {
  long r = sys::sc2(126 /*capset*/, (long)hdr, (long)data);
  if (r == 0) amber::creds_follow();
  return (int)ret(r);
}

}  // extern "C"
