// Raw Linux x86-64 system calls: the one small layer through which the restorer (which has no
// libc at all, PITFALLS 1) and the agent's checkpoint path (which must not take libc locks that a
// parked thread may hold, nor touch errno/malloc) reach the kernel.
//
// Every call returns the kernel's raw result: >= 0 on success, -errno on failure.
#ifndef AMBER_SYS_H
#define AMBER_SYS_H

#include <stddef.h>
#include <stdint.h>

namespace sys {

enum : long {
  NR_read = 0, NR_write = 1, NR_open = 2, NR_close = 3, NR_fstat = 5, NR_lseek = 8,
  NR_mmap = 9, NR_mprotect = 10, NR_munmap = 11, NR_brk = 12, NR_rt_sigaction = 13,
  NR_rt_sigprocmask = 14, NR_rt_sigreturn = 15, NR_ioctl = 16, NR_pread64 = 17,
  NR_pwrite64 = 18, NR_mremap = 25, NR_madvise = 28, NR_dup = 32, NR_dup2 = 33,
  NR_nanosleep = 35, NR_getitimer = 36, NR_setitimer = 38, NR_getpid = 39, NR_socket = 41,
  NR_connect = 42, NR_clone = 56, NR_exit = 60, NR_wait4 = 61, NR_kill = 62, NR_uname = 63,
  NR_fcntl = 72, NR_fsync = 74, NR_getcwd = 79, NR_chdir = 80, NR_rename = 82,
  NR_readlink = 89, NR_umask = 95, NR_getppid = 110, NR_sigaltstack = 131,
  NR_personality = 135, NR_prctl = 157, NR_arch_prctl = 158, NR_gettid = 186, NR_tkill = 200,
  NR_futex = 202, NR_getdents64 = 217, NR_set_tid_address = 218, NR_timer_create = 222,
  NR_timer_settime = 223, NR_timer_gettime = 224, NR_timer_getoverrun = 225,
  NR_timer_delete = 226, NR_clock_gettime = 228, NR_clock_nanosleep = 230, NR_exit_group = 231,
  NR_tgkill = 234, NR_openat = 257, NR_newfstatat = 262, NR_readlinkat = 267, NR_dup3 = 292,
  NR_prlimit64 = 302, NR_rseq = 334,
  NR_recvfrom = 45, NR_bind = 49, NR_listen = 50, NR_getsockname = 51, NR_getpeername = 52,
  NR_socketpair = 53, NR_setsockopt = 54, NR_getsockopt = 55, NR_unlink = 87, NR_setpgid = 109,
  NR_setsid = 112, NR_getsid = 124, NR_epoll_ctl = 233, NR_tee = 276, NR_timerfd_create = 283,
  NR_timerfd_settime = 286, NR_accept4 = 288, NR_signalfd4 = 289, NR_eventfd2 = 290,
  NR_epoll_create1 = 291, NR_pipe2 = 293, NR_close_range = 436,
};
// Files, locks, pidfds, inotify, fanotify (fd/file.cc, fd/dir.cc, fd/lock.cc, fd/pidfd.cc, fd/inotify.cc,
// fd/fanotify.cc).
enum : long {
  NR_flock = 73, NR_ftruncate = 77, NR_fchdir = 81, NR_mkdir = 83, NR_rmdir = 84, NR_fchmod = 91,
  NR_epoll_wait = 232, NR_inotify_add_watch = 254, NR_inotify_rm_watch = 255, NR_inotify_init1 = 294,
  NR_kcmp = 312, NR_memfd_create = 319, NR_pidfd_open = 434,
  NR_fanotify_init = 300, NR_fanotify_mark = 301, NR_name_to_handle_at = 303, NR_statx = 332,
};
// Seccomp filters (proc/seccomp.agent.cc).
enum : long { NR_seccomp = 317 };
// Scheduling and per-mm settings (thread/thread.cc, proc/process.cc).
enum : long {
  NR_getpriority = 140, NR_setpriority = 141, NR_sched_setscheduler = 144, NR_sched_getscheduler = 145,
  NR_sched_getparam = 143, NR_ioprio_set = 251, NR_ioprio_get = 252, NR_membarrier = 324,
};

// Kernel constants (x86-64) for code compiled both with and without libc headers (the trailing
// underscore keeps them apart from libc's macros of the same name).
enum : int {
  O_RDONLY_ = 0, O_WRONLY_ = 1, O_RDWR_ = 2, O_ACCMODE_ = 3, O_CREAT_ = 0100, O_EXCL_ = 0200,
  O_NOCTTY_ = 0400, O_TRUNC_ = 01000, O_APPEND_ = 02000, O_NONBLOCK_ = 04000, O_ASYNC_ = 020000,
  O_DIRECTORY_ = 0200000, O_CLOEXEC_ = 02000000,
  F_GETFD_ = 1, F_SETFL_ = 4, F_DUPFD_CLOEXEC_ = 1030, F_SETPIPE_SZ_ = 1031, F_GETPIPE_SZ_ = 1032,
  PROT_R_ = 1, PROT_W_ = 2, PROT_X_ = 4,
  MAP_SHARED_ = 0x01, MAP_PRIVATE_ = 0x02, MAP_FIXED_ = 0x10, MAP_ANON_ = 0x20, MAP_GROWSDOWN_ = 0x100,
  MAP_NORESERVE_ = 0x4000, MAP_FIXED_NOREPLACE_ = 0x100000,
  S_IFMT_ = 0170000, S_IFREG_ = 0100000, S_IFDIR_ = 0040000, S_IFCHR_ = 0020000, S_IFIFO_ = 0010000,
  S_IFSOCK_ = 0140000,
  RLIMIT_NPROC_ = 6, RLIMIT_NOFILE_ = 7,
};

static inline long sc0(long n) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
  return r;
}
static inline long sc1(long n, long a) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
  return r;
}
static inline long sc2(long n, long a, long b) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return r;
}
static inline long sc3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
static inline long sc4(long n, long a, long b, long c, long d) {
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
}
static inline long sc5(long n, long a, long b, long c, long d, long e) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                   : "rcx", "r11", "memory");
  return r;
}
static inline long sc6(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return r;
}

#define AMBER_L(x) ((long)(x))
static inline long read(int fd, void* b, size_t n) { return sc3(NR_read, fd, AMBER_L(b), AMBER_L(n)); }
static inline long write(int fd, const void* b, size_t n) { return sc3(NR_write, fd, AMBER_L(b), AMBER_L(n)); }
static inline long pread(int fd, void* b, size_t n, uint64_t off) { return sc4(NR_pread64, fd, AMBER_L(b), AMBER_L(n), AMBER_L(off)); }
static inline long pwrite(int fd, const void* b, size_t n, uint64_t off) { return sc4(NR_pwrite64, fd, AMBER_L(b), AMBER_L(n), AMBER_L(off)); }
static inline long openat(int dfd, const char* p, int fl, int mode) { return sc4(NR_openat, dfd, AMBER_L(p), fl, mode); }
static inline long open(const char* p, int fl, int mode = 0) { return openat(-100 /*AT_FDCWD*/, p, fl, mode); }
static inline long close(int fd) { return sc1(NR_close, fd); }
static inline long lseek(int fd, int64_t off, int whence) { return sc3(NR_lseek, fd, AMBER_L(off), whence); }
static inline long fstat(int fd, void* st) { return sc2(NR_fstat, fd, AMBER_L(st)); }
static inline long fstatat(int dfd, const char* p, void* st, int fl) { return sc4(NR_newfstatat, dfd, AMBER_L(p), AMBER_L(st), fl); }
static inline long mmap(void* a, size_t len, int prot, int fl, int fd, uint64_t off) { return sc6(NR_mmap, AMBER_L(a), AMBER_L(len), prot, fl, fd, AMBER_L(off)); }
static inline long munmap(void* a, size_t len) { return sc2(NR_munmap, AMBER_L(a), AMBER_L(len)); }
static inline long mprotect(void* a, size_t len, int prot) { return sc3(NR_mprotect, AMBER_L(a), AMBER_L(len), prot); }
static inline long mremap(void* o, size_t ol, size_t nl, int fl, void* na) { return sc5(NR_mremap, AMBER_L(o), AMBER_L(ol), AMBER_L(nl), fl, AMBER_L(na)); }
static inline long madvise(void* a, size_t len, int adv) { return sc3(NR_madvise, AMBER_L(a), AMBER_L(len), adv); }
static inline long brk(uint64_t a) { return sc1(NR_brk, AMBER_L(a)); }
static inline long dup3(int o, int n, int fl) { return sc3(NR_dup3, o, n, fl); }
static inline long fcntl(int fd, int cmd, long arg) { return sc3(NR_fcntl, fd, cmd, arg); }
static inline long fsync(int fd) { return sc1(NR_fsync, fd); }
static inline long rename(const char* a, const char* b) { return sc2(NR_rename, AMBER_L(a), AMBER_L(b)); }
static inline long readlink(const char* p, char* b, size_t n) { return sc3(NR_readlink, AMBER_L(p), AMBER_L(b), AMBER_L(n)); }
static inline long getdents64(int fd, void* b, size_t n) { return sc3(NR_getdents64, fd, AMBER_L(b), AMBER_L(n)); }
static inline long getpid() { return sc0(NR_getpid); }
static inline long getppid() { return sc0(NR_getppid); }
static inline long gettid() { return sc0(NR_gettid); }
static inline long tgkill(int tg, int tid, int sig) { return sc3(NR_tgkill, tg, tid, sig); }
static inline long kill(int pid, int sig) { return sc2(NR_kill, pid, sig); }
static inline long rt_sigaction(int sig, const void* act, void* old) { return sc4(NR_rt_sigaction, sig, AMBER_L(act), AMBER_L(old), 8); }
static inline long rt_sigprocmask(int how, const uint64_t* set, uint64_t* old) { return sc4(NR_rt_sigprocmask, how, AMBER_L(set), AMBER_L(old), 8); }
static inline long sigaltstack(const void* ss, void* old) { return sc2(NR_sigaltstack, AMBER_L(ss), AMBER_L(old)); }
static inline long arch_prctl(int code, uint64_t addr) { return sc2(NR_arch_prctl, code, AMBER_L(addr)); }
static inline long prctl(int op, long a, long b, long c, long d) { return sc5(NR_prctl, op, a, b, c, d); }
static inline long futex(volatile void* uaddr, int op, int val, const void* ts) { return sc4(NR_futex, AMBER_L(uaddr), op, val, AMBER_L(ts)); }
static inline long set_tid_address(void* p) { return sc1(NR_set_tid_address, AMBER_L(p)); }
static inline long rseq(void* area, uint32_t len, int flags, uint32_t sig) { return sc4(NR_rseq, AMBER_L(area), len, flags, sig); }
static inline long getitimer(int which, void* v) { return sc2(NR_getitimer, which, AMBER_L(v)); }
static inline long setitimer(int which, const void* v, void* old) { return sc3(NR_setitimer, which, AMBER_L(v), AMBER_L(old)); }
static inline long timer_create(int clk, void* sev, int* id) { return sc3(NR_timer_create, clk, AMBER_L(sev), AMBER_L(id)); }
static inline long timer_settime(int id, int fl, const void* nv, void* ov) { return sc4(NR_timer_settime, id, fl, AMBER_L(nv), AMBER_L(ov)); }
static inline long timer_gettime(int id, void* v) { return sc2(NR_timer_gettime, id, AMBER_L(v)); }
static inline long clock_gettime(int clk, void* ts) { return sc2(NR_clock_gettime, clk, AMBER_L(ts)); }
static inline long nanosleep(const void* req, void* rem) { return sc2(NR_nanosleep, AMBER_L(req), AMBER_L(rem)); }
static inline long prlimit(int pid, int res, const void* nl, void* ol) { return sc4(NR_prlimit64, pid, res, AMBER_L(nl), AMBER_L(ol)); }
static inline long personality(unsigned long p) { return sc1(NR_personality, AMBER_L(p)); }
static inline long umask(int m) { return sc1(NR_umask, m); }
static inline long chdir(const char* p) { return sc1(NR_chdir, AMBER_L(p)); }
static inline long uname(void* u) { return sc1(NR_uname, AMBER_L(u)); }
static inline long socket(int d, int t, int p) { return sc3(NR_socket, d, t, p); }
static inline long connect(int fd, const void* a, int len) { return sc3(NR_connect, fd, AMBER_L(a), len); }
static inline long ioctl(int fd, unsigned long req, long arg) { return sc3(NR_ioctl, fd, AMBER_L(req), arg); }
static inline long pipe2(int* fds, int fl) { return sc2(NR_pipe2, AMBER_L(fds), fl); }
static inline long close_range(unsigned first, unsigned last) { return sc3(NR_close_range, first, last, 0); }
static inline long unlink(const char* p) { return sc1(NR_unlink, AMBER_L(p)); }
static inline long setsockopt(int fd, int lvl, int opt, const void* v, uint32_t len) { return sc5(NR_setsockopt, fd, lvl, opt, AMBER_L(v), len); }
static inline long getsockopt(int fd, int lvl, int opt, void* v, uint32_t* len) { return sc5(NR_getsockopt, fd, lvl, opt, AMBER_L(v), AMBER_L(len)); }
[[noreturn]] static inline void exit_group(int code) {
  for (;;) sc1(NR_exit_group, code);
}
#undef AMBER_L

// Kernel struct stat (x86-64), as filled by fstat/newfstatat.
struct kstat {
  uint64_t st_dev, st_ino, st_nlink;
  uint32_t st_mode, st_uid, st_gid, pad0;
  uint64_t st_rdev;
  int64_t st_size, st_blksize, st_blocks;
  uint64_t st_atime_, st_atime_nsec, st_mtime_, st_mtime_nsec, st_ctime_, st_ctime_nsec;
  int64_t unused[3];
};

struct ktimespec { int64_t sec, nsec; };

// Kernel struct sigaction (x86-64): handler, flags, restorer, one 64-bit mask word.
struct ksigaction {
  uint64_t handler, flags, restorer, mask;
};

// Futex helpers (private futexes: all waiters share one address space).
enum { FUTEX_WAIT_PRIVATE = 128, FUTEX_WAKE_PRIVATE = 129 };
static inline long futex_wait(volatile uint32_t* a, uint32_t val, const ktimespec* ts) {
  return futex(a, FUTEX_WAIT_PRIVATE, (int)val, ts);
}
static inline long futex_wake(volatile uint32_t* a, int n) { return futex(a, FUTEX_WAKE_PRIVATE, n, nullptr); }

// Small freestanding string helpers (no libc in the restorer).
static inline size_t slen(const char* s) { size_t n = 0; while (s[n]) n++; return n; }
static inline bool seq(const char* a, const char* b) {
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}
static inline bool sstarts(const char* s, const char* pre) {
  while (*pre) if (*s++ != *pre++) return false;
  return true;
}

// Write all of buf (retrying short writes and EINTR); returns 0 or -errno.
static inline long write_all(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n) {
    long r = write(fd, p, n);
    if (r == -4 /*EINTR*/) continue;
    if (r < 0) return r;
    p += r; n -= (size_t)r;
  }
  return 0;
}
static inline long pwrite_all(int fd, const void* buf, size_t n, uint64_t off) {
  const char* p = static_cast<const char*>(buf);
  while (n) {
    long r = pwrite(fd, p, n, off);
    if (r == -4) continue;
    if (r <= 0) return r < 0 ? r : -5 /*EIO*/;
    p += r; n -= (size_t)r; off += (uint64_t)r;
  }
  return 0;
}
static inline long pread_all(int fd, void* buf, size_t n, uint64_t off) {
  char* p = static_cast<char*>(buf);
  while (n) {
    long r = pread(fd, p, n, off);
    if (r == -4) continue;
    if (r < 0) return r;
    if (r == 0) return -61; /* ENODATA: short file */
    p += r; n -= (size_t)r; off += (uint64_t)r;
  }
  return 0;
}

// Reads up to cap bytes of a (small, /proc) file; returns the length read (0 on any error).
static inline size_t read_file(const char* path, char* buf, size_t cap) {
  long fd = open(path, 02000000 /*O_CLOEXEC*/);
  if (fd < 0) return 0;
  size_t len = 0;
  while (len < cap) {
    long r = read((int)fd, buf + len, cap - len);
    if (r == -4 /*EINTR*/) continue;
    if (r <= 0) break;
    len += (size_t)r;
  }
  close((int)fd);
  return len;
}

// A fixed buffer text builder: no allocation, silently truncates (callers size it generously).
struct Out {
  char* buf;
  size_t cap, len = 0;
  Out(char* b, size_t c) : buf(b), cap(c) { if (cap) buf[0] = 0; }
  Out& s(const char* str) { while (*str) c(*str++); return *this; }
  Out& sn(const char* str, size_t n) { for (size_t i = 0; i < n; i++) c(str[i]); return *this; }
  Out& c(char ch) { if (len + 1 < cap) { buf[len++] = ch; buf[len] = 0; } return *this; }
  Out& u(uint64_t v) {
    char t[24]; int n = 0;
    do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) c(t[--n]);
    return *this;
  }
  Out& i(int64_t v) { if (v < 0) { c('-'); return u((uint64_t)(-(v + 1)) + 1); } return u((uint64_t)v); }
  Out& x(uint64_t v) {
    s("0x");
    char t[17]; int n = 0;
    do { t[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    while (n) c(t[--n]);
    return *this;
  }
  // JSON string body escaping (quotes not added).
  Out& j(const char* str, size_t n) {
    for (size_t k = 0; k < n; k++) {
      unsigned char ch = (unsigned char)str[k];
      if (ch == '"' || ch == '\\') { c('\\'); c((char)ch); }
      else if (ch < 0x20) { s("\\u00"); c("0123456789abcdef"[ch >> 4]); c("0123456789abcdef"[ch & 15]); }
      else c((char)ch);
    }
    return *this;
  }
};

// What this thread's descriptor fd names (readlink of /proc/thread-self/fd/N), NUL terminated in
// out (cap bytes, truncated); its length, 0 or a negative errno when there is none.
static inline long fd_link(int fd, char* out, size_t cap) {
  char p[48];
  Out o(p, sizeof p);
  o.s("/proc/thread-self/fd/").i(fd);
  long n = readlink(p, out, cap - 1);
  out[n > 0 ? n : 0] = 0;
  return n;
}

// Parse an unsigned decimal or hex number (for /proc text); advances *p.
static inline uint64_t parse_u(const char** p, int base) {
  uint64_t v = 0;
  const char* s = *p;
  for (;;) {
    char ch = *s;
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (base == 16 && ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (base == 16 && ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else break;
    v = v * (uint64_t)base + (uint64_t)d;
    s++;
  }
  *p = s;
  return v;
}

// The number after "key" (e.g. "VmLck:") at the start of a line of /proc status text; false when
// no line has it.
static inline bool status_value(const char* text, const char* key, int base, uint64_t* out) {
  size_t kl = slen(key);
  for (const char* p = text; *p;) {
    if (sstarts(p, key)) {
      p += kl;
      while (*p == ' ' || *p == '\t') p++;
      *out = parse_u(&p, base);
      return true;
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  return false;
}

}  // namespace sys

#endif
