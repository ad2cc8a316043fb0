// Pid virtualization, part 3: /proc paths. An application that knows a pid or tid only as the
// app-visible one opens /proc/<app pid>/..., /proc/<app pid>/task/<app tid>/... or
// /proc/self/task/<app tid>/...; after a restart those names are the kernel's old ones (gone, or
// worse: someone else's), so the path functions rewrite the numeric components to the kernel's.
// readlink of /proc/self and /proc/thread-self, which the kernel answers with kernel ids, is
// translated back.
//
// Fast path: before the first restart the maps are empty and a wrapper costs one load and a
// branch before it calls libc, and never reads the path. The rewrite itself (a noinline slow
// path, so that its PATH_MAX buffers are on the stack only when needed: these may run on a small
// signal stack) never allocates.
//
// Invalid pointers: the path is the application's and may be anything (NULL, unmapped). libc
// hands it to the kernel, which answers EFAULT; so do we: after a restart the path is read only
// through sys::copy_str (process_vm_readv on ourselves), and one we cannot read goes to libc
// untouched. (A NULL test is not enough, nor even kept: glibc declares these functions
// __nonnull, so the compiler deletes `p &&` in a wrapper that has the same prototype.)
//
// Contents: after a restart the ids inside /proc/<pid>/stat and /proc/<pid>/status (and their
// task/<tid> twins, self and thread-self) are the kernel's; an open of one of them for reading
// gives a memfd holding the file as read at that moment with the ids translated (pid, ppid, process
// group, session, terminal's foreground group; Tgid, Pid, PPid, TracerPid, NStgid, NSpid, NSpgid,
// NSsid; a pidfd's fdinfo Pid and NSpid). It is a snapshot: a program that keeps the descriptor and reads it again from offset 0
// sees the same text (they usually open it anew, as ps and psutil do).
// From the start, not only after a restart, the same files leave the agent's checkpoint thread out
// of their thread count (status Threads:, stat num_threads; agent/ownfd.cc ckpt_threads): a
// program that counts its own threads, or its child's, must find the ones it made. Before a
// restart the open and fopen wrappers look at the path only once the call succeeded (a byte
// compare for every other file).
//
// Not translated: relative paths resolved under a cwd or directory descriptor inside /proc (a
// program that chdir's to /proc and opens "1234/stat"), the numeric names readdir returns while
// listing /proc (they are kernel ids; a thread list, /proc/<pid>/task, is translated in place
// where the app id fits, agent/ownfd.cc), and the ids inside other /proc files. libc's internal opens (realpath,
// ftw, ...) do not go through these symbols either.
// node-gyp builds with _FILE_OFFSET_BITS=64, which makes glibc's headers declare prlimit, stat,
// open... as aliases of their *64 twins; these wrappers must define each symbol under its own name.
#undef _FILE_OFFSET_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/ownfd.h"
#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"

namespace {

using amber::pid::active;

// The only test the common case pays: nothing to translate (before any restart), or no path.
inline bool maybe_proc(const char* p) {
  return active() && p;
}

inline bool digit(char c) { return c >= '0' && c <= '9'; }

// Copies a numeric component starting at *src (advancing it), translated by fn, to o. Returns
// false if the component is not all digits up to '/' or the end (then nothing is translated).
template <typename Fn>
bool number(const char** src, sys::Out& o, Fn fn) {
  const char* s = *src;
  if (!digit(*s)) return false;
  const char* q = s;
  uint64_t v = sys::parse_u(&q, 10);
  if ((*q && *q != '/') || q - s > 10 || v > 0x7fffffff) return false;
  o.i(fn((int32_t)v));
  *src = q;
  return true;
}

// /proc/self/exe (or /proc/<our pid>/exe, /proc/thread-self/exe) after a restart: the kernel's
// link names amber's restorer; the program's own executable is the one it started as (g.exe).
// readlink answers that path, and every other call on the link (open, stat, exec) gets the file.
bool own_exe_link(const char* p) {
  if (!amber::g.exe[0] || !sys::sstarts(p, "/proc/")) return false;
  const char* s = p + 6;
  if (sys::sstarts(s, "self/")) s += 4;
  else if (sys::sstarts(s, "thread-self/")) s += 11;
  else if (digit(*s)) {
    int32_t id = (int32_t)sys::parse_u(&s, 10);
    if (amber::pid::to_real_tid(id) != (int32_t)sys::getpid() && id != (int32_t)sys::getpid()) return false;
  } else {
    return false;
  }
  return sys::seq(s, "/exe");
}

// Rewrites p into buf if it names a translated id under /proc; returns p itself otherwise.
const char* rewrite(const char* p, char* buf, size_t cap) {
  if (own_exe_link(p)) return amber::g.exe;
  if (!sys::sstarts(p, "/proc/")) return p;
  size_t len = sys::slen(p);
  if (len + 32 > cap) return p;  // too long to grow safely (the kernel's own limit is PATH_MAX)
  sys::Out o(buf, cap);
  const char* s = p + 6;
  o.s("/proc/");
  bool changed = false;
  if (digit(*s)) {
    // /proc/<pid>: any tid works there too, so the tid map first.
    if (!number(&s, o, amber::pid::to_real_tid)) return p;
    changed = true;
  } else if (sys::sstarts(s, "self/")) {
    o.s("self");
    s += 4;
  } else {
    return p;
  }
  // Optional /task/<tid>.
  if (sys::sstarts(s, "/task/") && digit(s[6])) {
    o.s("/task/");
    s += 6;
    if (!number(&s, o, amber::pid::to_real_tid)) return p;
    changed = true;
  }
  if (!changed) return p;
  o.s(s);
  return buf;
}

// The rewrite of a /proc path (a copy we read safely into src) into buf, or p itself.
__attribute__((noinline)) const char* rewrite_proc(const char* p, char* buf, size_t cap) {
  char src[PATH_MAX];
  if (sys::copy_str(src, p, sizeof src) < 0) return p;  // the kernel will say EFAULT/ENAMETOOLONG
  const char* q = rewrite(src, buf, cap);
  return q == src ? p : q;
}

// Calls f with the path to use: p, or its rewrite in a stack buffer that lives only here. A short
// prefix, read safely, tells whether the path can be under /proc at all.
template <typename F>
__attribute__((noinline)) auto slow(const char* p, F f) {
  // 7 bytes: "/proc/" and one more. copy_str answers the length of a shorter string, EFAULT, or
  // ENAMETOOLONG for a longer one (its first 7 bytes copied): only that can be worth rewriting.
  char pre[7];
  if (sys::copy_str(pre, p, sizeof pre) != -36 /*ENAMETOOLONG*/ || !sys::sstarts(pre, "/proc/")) return f(p);
  char buf[PATH_MAX + 32];
  return f(rewrite_proc(p, buf, sizeof buf));
}

template <typename F>
inline auto with_path(const char* p, F f) {
  if (__builtin_expect(!maybe_proc(p), 1)) return f(p);
  return slow(p, f);
}

// The next definition of a libc function. Resolved eagerly by the constructor below (so that a
// call from a vfork child or a signal handler finds it ready), lazily before that.
template <typename Fn>
Fn next(Fn& slot, const char* name) {
  Fn f = __atomic_load_n(&slot, __ATOMIC_RELAXED);
  if (__builtin_expect(!f, 0)) {
    f = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
    __atomic_store_n(&slot, f, __ATOMIC_RELAXED);
  }
  return f;
}

#define AMBER_NEXT_LIST(X)                                                            \
  X(open, int (*)(const char*, int, ...))                                             \
  X(open64, int (*)(const char*, int, ...))                                           \
  X(openat, int (*)(int, const char*, int, ...))                                      \
  X(openat64, int (*)(int, const char*, int, ...))                                    \
  X(__open_2, int (*)(const char*, int))                                              \
  X(__open64_2, int (*)(const char*, int))                                            \
  X(__openat_2, int (*)(int, const char*, int))                                       \
  X(__openat64_2, int (*)(int, const char*, int))                                     \
  X(fopen, FILE* (*)(const char*, const char*))                                       \
  X(fopen64, FILE* (*)(const char*, const char*))                                     \
  X(freopen, FILE* (*)(const char*, const char*, FILE*))                              \
  X(freopen64, FILE* (*)(const char*, const char*, FILE*))                            \
  X(opendir, DIR* (*)(const char*))                                                   \
  X(stat, int (*)(const char*, struct stat*))                                         \
  X(stat64, int (*)(const char*, struct stat64*))                                     \
  X(lstat, int (*)(const char*, struct stat*))                                        \
  X(lstat64, int (*)(const char*, struct stat64*))                                    \
  X(fstatat, int (*)(int, const char*, struct stat*, int))                            \
  X(fstatat64, int (*)(int, const char*, struct stat64*, int))                        \
  X(__xstat, int (*)(int, const char*, struct stat*))                                 \
  X(__xstat64, int (*)(int, const char*, struct stat64*))                             \
  X(__lxstat, int (*)(int, const char*, struct stat*))                                \
  X(__lxstat64, int (*)(int, const char*, struct stat64*))                            \
  X(__fxstatat, int (*)(int, int, const char*, struct stat*, int))                    \
  X(__fxstatat64, int (*)(int, int, const char*, struct stat64*, int))                \
  X(statx, int (*)(int, const char*, int, unsigned, struct statx*))                   \
  X(access, int (*)(const char*, int))                                                \
  X(faccessat, int (*)(int, const char*, int, int))                                   \
  X(readlink, ssize_t (*)(const char*, char*, size_t))                                \
  X(readlinkat, ssize_t (*)(int, const char*, char*, size_t))                         \
  X(__readlink_chk, ssize_t (*)(const char*, char*, size_t, size_t))                  \
  X(__readlinkat_chk, ssize_t (*)(int, const char*, char*, size_t, size_t))           \
  X(chdir, int (*)(const char*))                                                      \
  X(truncate, int (*)(const char*, off_t))                                            \
  X(truncate64, int (*)(const char*, off64_t))

template <typename T>
using Id = T;  // lets a function pointer type be written before the member name
struct Next {
#define AMBER_SLOT(name, ...) Id<__VA_ARGS__> name;
  AMBER_NEXT_LIST(AMBER_SLOT)
#undef AMBER_SLOT
} g_next;

#define NEXT(name) next(g_next.name, #name)

__attribute__((constructor)) void resolve_all() {
#define AMBER_RESOLVE(name, ...) NEXT(name);
  AMBER_NEXT_LIST(AMBER_RESOLVE)
#undef AMBER_RESOLVE
}

// ---- /proc/<pid>/stat and status with the application's ids (see the header) ----

// Appends the number at *s (advanced past it), translated by fn when it is positive.
template <typename Fn>
void id_field(const char** s, sys::Out& o, Fn fn) {
  const char* q = *s;
  bool neg = *q == '-';
  if (neg) q++;
  if (!digit(*q)) return;
  uint64_t v = sys::parse_u(&q, 10);
  if (neg || v == 0 || v > 0x7fffffff) {
    if (neg) o.s("-");
    o.u(v);
  } else {
    o.i(fn((int32_t)v));
  }
  *s = q;
}

// The ppid as the application knows it: ours through app_getppid (a root process's parent is the
// launcher it had, not the restart command), another process's through the map.
int32_t ppid_of(int32_t tgid, int32_t ppid) {
  return tgid == (int32_t)sys::getpid() ? amber::pid::app_getppid() : amber::pid::to_app(ppid);
}

// "pid (comm) S ppid pgrp session tty_nr tpgid ...": comm may hold anything, so the fields after it
// are counted from its last ')'.
size_t translate_stat(const char* in, size_t n, char* out, size_t cap, int32_t tgid) {
  sys::Out o(out, cap);
  const char* end = in + n;
  const char* rp = nullptr;
  for (const char* q = in; q < end; q++) if (*q == ')') rp = q;
  if (!rp) return 0;
  const char* s = in;
  id_field(&s, o, amber::pid::to_app_tid);
  for (; s <= rp; s++) o.c(*s);
  // " S ppid pgrp session tty tpgid": field 3 copied, 4-6 and 8 translated, 7 copied; field 20,
  // num_threads, without the agent's checkpoint thread
  for (int field = 3; field <= 20 && s < end; field++) {
    while (s < end && *s == ' ') o.c(*s++);
    const char* q = s;
    while (q < end && *q != ' ') q++;
    if (field == 4) {
      const char* t = s;
      uint64_t v = digit(*t) ? sys::parse_u(&t, 10) : 0;
      if (v > 0 && v <= 0x7fffffff && t == q) { o.i(ppid_of(tgid, (int32_t)v)); s = q; continue; }
    } else if (field == 5 || field == 6 || field == 8) {
      const char* t = s;
      id_field(&t, o, amber::pid::to_app);
      if (t == q) { s = q; continue; }
      return 0;  // not the layout we know: the caller keeps the kernel's text
    } else if (field == 20) {
      const char* t = s;
      uint64_t v = digit(*t) ? sys::parse_u(&t, 10) : 0;
      if (v > 1 && t == q && amber::ownfd::ckpt_threads(tgid)) { o.u(v - 1); s = q; continue; }
    }
    for (; s < q; s++) o.c(*s);
  }
  for (; s < end; s++) o.c(*s);
  return o.len < cap ? o.len : 0;
}

// "Key:<tab>value" lines; the id lines translated (NS* lines: their first, outermost, value).
size_t translate_status(const char* in, size_t n, char* out, size_t cap, int32_t tgid) {
  sys::Out o(out, cap);
  const char* end = in + n;
  for (const char* s = in; s < end;) {
    const char* le = s;
    while (le < end && *le != '\n') le++;
    const char* v = s;
    while (v < le && *v != ':') v++;
    size_t klen = (size_t)(v - s);
    auto is = [&](const char* k) { return sys::slen(k) == klen && !memcmp(s, k, klen); };
    int which = is("Tgid") || is("NStgid") || is("NSpgid") || is("NSsid") ? 1 : is("Pid") || is("NSpid") ? 2 : is("PPid") ? 3 : is("TracerPid") ? 1 : 0;
    if (is("Threads") && v < le) {
      // the program's threads: the agent's checkpoint thread is not one of them
      const char* t = v + 1;
      while (t < le && (*t == '\t' || *t == ' ')) t++;
      const char* u = t;
      uint64_t num = digit(*u) ? sys::parse_u(&u, 10) : 0;
      if (num > 1 && u == le && amber::ownfd::ckpt_threads(tgid)) {
        for (; s < t; s++) o.c(*s);
        o.u(num - 1);
        s = le;
      }
    }
    if (!which || v == le) {
      for (; s < le; s++) o.c(*s);
    } else {
      for (; s <= v; s++) o.c(*s);  // "Key:"
      while (s < le && (*s == '\t' || *s == ' ')) o.c(*s++);
      const char* t = s;
      uint64_t num = digit(*t) ? sys::parse_u(&t, 10) : 0;
      if (num > 0 && num <= 0x7fffffff) {
        int32_t id = (int32_t)num;
        o.i(which == 1 ? amber::pid::to_app(id) : which == 2 ? amber::pid::to_app_tid(id) : ppid_of(tgid, id));
        s = t;
      }
      for (; s < le; s++) o.c(*s);
    }
    if (le < end) o.c('\n');
    s = le + 1;
  }
  return o.len < cap ? o.len : 0;
}

// Which id file a /proc path names (after the rewrite: kernel ids): 1 stat, 2 status (or fdinfo),
// 0 neither;
// *tgid the process it is about.
int id_file(const char* path, int32_t* tgid) {
  if (!sys::sstarts(path, "/proc/")) return 0;
  const char* s = path + 6;
  if (sys::sstarts(s, "self/")) { *tgid = (int32_t)sys::getpid(); s += 4; }
  else if (sys::sstarts(s, "thread-self/")) { *tgid = (int32_t)sys::getpid(); s += 11; }
  else if (digit(*s)) { *tgid = (int32_t)sys::parse_u(&s, 10); }
  else return 0;
  if (sys::sstarts(s, "/task/") && digit(s[6])) {
    s += 6;
    sys::parse_u(&s, 10);
  }
  // A descriptor's fdinfo: "Key:\tvalue" lines like status; a pidfd's "Pid:" and "NSpid:" name its
  // process by kernel id (no other kind has those keys: the rest passes through unchanged).
  if (sys::sstarts(s, "/fdinfo/") && digit(s[8])) {
    s += 8;
    sys::parse_u(&s, 10);
    return *s ? 0 : 2;
  }
  return sys::seq(s, "/stat") ? 1 : sys::seq(s, "/status") ? 2 : 0;
}

// The whole file behind fd (read from offset 0, its own position untouched), translated into out.
// 0 when it cannot be read or translated (the caller then reads the kernel's text).
size_t translated_from(int fd, int kind, int32_t tgid, char* in, char* out, size_t cap);
// The buffers come from mmap, not the stack: a read may run on a small signal stack.
constexpr size_t kIdText = 8192;
size_t translated(int fd, int kind, int32_t tgid, char* out, size_t cap) {
  long map = sys::mmap(nullptr, kIdText, 3 /*PROT_READ|PROT_WRITE*/, 0x22 /*MAP_PRIVATE|MAP_ANONYMOUS*/, -1, 0);
  if (map < 0) return 0;
  char* in = reinterpret_cast<char*>(map);
  size_t got = translated_from(fd, kind, tgid, in, out, cap);
  sys::munmap(in, kIdText);
  return got;
}
size_t translated_from(int fd, int kind, int32_t tgid, char* in, char* out, size_t cap) {
  size_t n = 0;
  for (;;) {
    long r = sys::sc4(17 /*pread64*/, fd, (long)(in + n), (long)(kIdText - n), (long)n);
    if (r == -EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (n == kIdText) return 0;
  }
  if (n == 0) return 0;
  return kind == 1 ? translate_stat(in, n, out, cap, tgid) : translate_status(in, n, out, cap, tgid);
}

// Descriptors open on an id file (a hint by number, checked against the descriptor before use).
constexpr int kMaxMarked = 65536;
uint8_t g_idfile[kMaxMarked / 8];
bool g_marked;  // any descriptor ever marked: read and pread look at the table only then

void mark_id_file(int fd) {
  if (fd < 0 || fd >= kMaxMarked) return;
  __atomic_or_fetch(&g_idfile[fd / 8], (uint8_t)(1u << (fd % 8)), __ATOMIC_RELAXED);
  __atomic_store_n(&g_marked, true, __ATOMIC_RELAXED);
}

// Does the path an open or fopen just succeeded on start with /proc/? Read directly: the kernel
// has just read the same bytes (an invalid pointer would have failed the call), so this costs the
// common case a byte compare and no system call.
inline bool opened_proc(const char* q) {
  return q[0] == '/' && q[1] == 'p' && q[2] == 'r' && q[3] == 'o' && q[4] == 'c' && q[5] == '/';
}

// Still an id file? Its kind and process, from the descriptor's own link.
int id_file_of(int fd, int32_t* tgid) {
  if (fd < 0 || fd >= kMaxMarked || !(g_idfile[fd / 8] >> (fd % 8) & 1)) return 0;
  char l[96];
  return sys::fd_link(fd, l, sizeof l) > 0 ? id_file(l, tgid) : 0;
}

// For fopen: stdio reads through libc's internal read, which no wrapper sees, so a reader gets a
// memfd holding the translated text as it is now. -2: not an id file (the caller opens it).
__attribute__((noinline)) int snapshot_open(const char* p, int flags) {
  char path[96];
  int32_t tgid = 0;
  if (sys::copy_str(path, p, sizeof path) < 0) return -2;
  int kind = id_file(path, &tgid);
  if (!kind) return -2;
  long real = sys::open(path, O_RDONLY | O_CLOEXEC, 0);
  if (real < 0) return -2;
  long map = sys::mmap(nullptr, kIdText + 512, 3 /*PROT_READ|PROT_WRITE*/, 0x22 /*MAP_PRIVATE|MAP_ANONYMOUS*/, -1, 0);
  if (map < 0) { sys::close((int)real); return -2; }
  char* out = reinterpret_cast<char*>(map);
  size_t m = translated((int)real, kind, tgid, out, kIdText + 512);
  sys::close((int)real);
  long fd = m ? sys::sc2(319 /*memfd_create*/, (long)"amber-proc", 1 /*MFD_CLOEXEC*/) : -1;
  if (fd >= 0 && (sys::write_all((int)fd, out, m) < 0 || sys::lseek((int)fd, 0, 0) < 0)) {
    sys::close((int)fd);
    fd = -1;
  }
  sys::munmap(out, kIdText + 512);
  if (fd < 0) return -2;
  if (!(flags & O_CLOEXEC)) sys::fcntl((int)fd, 2 /*F_SETFD*/, 0);
  return (int)fd;
}

// Opens q as the wrapped call does; an id file opened for reading is marked, so that read and
// pread translate it (fresh text at every read): after a restart its ids, and from the start its
// thread count (the agent's checkpoint thread is not the program's).
template <typename F>
inline int open_or_virtual(const char* q, int flags, F f) {
  int fd = f();
  if (fd >= 0 && (flags & O_ACCMODE) == O_RDONLY && !(flags & O_PATH) && opened_proc(q)) {
    char path[96];
    int32_t tgid;
    if (sys::copy_str(path, q, sizeof path) >= 0 && id_file(path, &tgid)) mark_id_file(fd);
  }
  return fd;
}

// A function we could not find (an older libc): fail like a missing system call.
template <typename R>
R missing() {
  errno = ENOSYS;
  return (R)-1;
}
#define CALL(name, ...) (g_next.name || NEXT(name) ? g_next.name(__VA_ARGS__) : missing<decltype(g_next.name(__VA_ARGS__))>())

inline bool needs_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

// readlink of /proc/self ("<pid>") or /proc/thread-self ("<pid>/task/<tid>"): the kernel's ids
// become the application's. Rewrites buf[0..r) in place (truncating to cap, as readlink would).
ssize_t fix_link(const char* path, char* buf, size_t cap, ssize_t r) {
  if (!maybe_proc(path)) return r;
  {
    char name[64];
    if (sys::copy_str(name, path, sizeof name) >= 0 && own_exe_link(name)) {
      // (the call above read the executable itself, not a link: EINVAL; the answer is its path)
      size_t len = sys::slen(amber::g.exe), k = len < cap ? len : cap;
      if (sys::vm_write(buf, amber::g.exe, k) < 0) {
        errno = EFAULT;
        return -1;
      }
      return (ssize_t)k;
    }
  }
  if (r <= 0) return r;
  char name[20];  // longer than either name: anything that does not fit is neither
  if (sys::copy_str(name, path, sizeof name) < 0) return r;
  bool self = sys::seq(name, "/proc/self"), thread = sys::seq(name, "/proc/thread-self");
  if (!self && !thread) return r;
  char in[64], out[64];
  if ((size_t)r >= sizeof in) return r;
  memcpy(in, buf, (size_t)r);
  in[r] = 0;
  const char* s = in;
  sys::Out o(out, sizeof out);
  if (!number(&s, o, amber::pid::to_app)) return r;
  if (thread) {
    if (!sys::sstarts(s, "/task/")) return r;
    s += 6;
    o.s("/task/");
    if (!number(&s, o, amber::pid::to_app_tid)) return r;
  }
  o.s(s);
  size_t n = o.len < cap ? o.len : cap;
  memcpy(buf, out, n);
  return (ssize_t)n;
}

// fopen of q, or ("r"/"re": no '+', no 'w'/'a') of the snapshot of an id file: after a restart
// for its ids, before one for its thread count (then only once the program's own fopen worked,
// which also proves q readable: the common case pays a byte compare).
template <typename F>
FILE* fopen_or_snapshot(const char* q, const char* mode, F f) {
  bool reading = mode && mode[0] == 'r' && !strchr(mode, '+');
  if (__builtin_expect(active(), 0) && reading) {
    int v = snapshot_open(q, O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0));
    if (v >= 0) {
      FILE* fp = fdopen(v, mode);
      if (fp) return fp;
      sys::close(v);
    }
    return f();
  }
  FILE* fp = f();
  if (fp && reading && opened_proc(q)) {
    int saved = errno;
    int v = snapshot_open(q, O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0));
    if (v >= 0) {
      if (FILE* sp = fdopen(v, mode)) {
        fclose(fp);
        errno = saved;
        return sp;
      }
      sys::close(v);
    }
    errno = saved;
  }
  return fp;
}

}  // namespace

namespace amber {
namespace pid {
// The path an exec must run (agent/exec.cc): a /proc path rewritten as open's is (after a
// restart /proc/self/exe is the program, not the restorer; /proc/<app pid>/... this run's pid),
// any other path as it is. buf holds a rewrite: PATH_MAX + 32 bytes. Safe in a vfork child.
const char* exec_path(const char* p, char* buf, size_t cap) {
  if (!maybe_proc(p)) return p;
  char pre[7];
  if (sys::copy_str(pre, p, sizeof pre) != -36 /*ENAMETOOLONG*/ || !sys::sstarts(pre, "/proc/")) return p;
  return rewrite_proc(p, buf, cap);
}

bool id_files_marked() { return __atomic_load_n(&g_marked, __ATOMIC_RELAXED); }

// Closed (close, dup2 over it, close_range): its number no longer names an id file, and a read on
// whatever reuses it must not pay the descriptor check (a readlink) every time.
void id_files_closed(unsigned first, unsigned last) {
  if (!id_files_marked()) return;
  if (last >= (unsigned)kMaxMarked) last = kMaxMarked - 1;
  for (unsigned fd = first; fd <= last; fd++)
    if (g_idfile[fd / 8]) __atomic_and_fetch(&g_idfile[fd / 8], (uint8_t)~(1u << (fd % 8)), __ATOMIC_RELAXED);
}

bool id_file_read(int fd, void* buf, size_t n, int64_t off, ssize_t* out) {
  if (!id_files_marked()) return false;
  int32_t tgid = 0;
  int kind = id_file_of(fd, &tgid);
  if (!kind) return false;
  long map = sys::mmap(nullptr, kIdText + 512, 3 /*PROT_READ|PROT_WRITE*/, 0x22 /*MAP_PRIVATE|MAP_ANONYMOUS*/, -1, 0);
  if (map < 0) return false;
  char* t = reinterpret_cast<char*>(map);
  size_t m = translated(fd, kind, tgid, t, kIdText + 512);
  bool done = false;
  if (m) {
    int64_t pos = off;
    if (off < 0) pos = sys::lseek(fd, 0, 1 /*SEEK_CUR*/);
    if (pos >= 0) {
      size_t k = (uint64_t)pos >= m ? 0 : (m - (size_t)pos < n ? m - (size_t)pos : n);
      long w = k ? sys::vm_write(buf, t + pos, k) : 0;
      if (w < 0) {
        errno = (int)-w;
        *out = -1;
      } else {
        if (off < 0) sys::lseek(fd, pos + w, 0 /*SEEK_SET*/);
        *out = (ssize_t)w;
      }
      done = true;
    }
  }
  sys::munmap(t, kIdText + 512);
  return done;
}

void id_files_restarted() {
  char dents[4096];
  long d = sys::open("/proc/thread-self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (d < 0) return;
  for (;;) {
    long r = sys::getdents64((int)d, dents, sizeof dents);
    if (r <= 0) break;
    for (long at = 0; at < r;) {
      const char* rec = dents + at;
      at += *reinterpret_cast<const uint16_t*>(rec + 16);
      const char* name = rec + 19;
      if (!digit(name[0])) continue;
      const char* q = name;
      int fd = (int)sys::parse_u(&q, 10);
      if (fd == (int)d) continue;
      char l[96];
      int32_t tgid;
      if (sys::fd_link(fd, l, sizeof l) > 0 && id_file(l, &tgid)) mark_id_file(fd);
    }
  }
  sys::close((int)d);
}
}  // namespace pid
}  // namespace amber

extern "C" {

#define EXPORT __attribute__((visibility("default")))

EXPORT int open(const char* p, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(open, q, flags, mode); }); });
}

EXPORT int open64(const char* p, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(open64, q, flags, mode); }); });
}

EXPORT int openat(int dfd, const char* p, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(openat, dfd, q, flags, mode); }); });
}

EXPORT int openat64(int dfd, const char* p, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(openat64, dfd, q, flags, mode); }); });
}

// The _FORTIFY_SOURCE entry points for open without a mode.
EXPORT int __open_2(const char* p, int flags) {
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(__open_2, q, flags); }); });
}
EXPORT int __open64_2(const char* p, int flags) {
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(__open64_2, q, flags); }); });
}
EXPORT int __openat_2(int dfd, const char* p, int flags) {
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(__openat_2, dfd, q, flags); }); });
}
EXPORT int __openat64_2(int dfd, const char* p, int flags) {
  return with_path(p, [&](const char* q) { return open_or_virtual(q, flags, [&] { return CALL(__openat64_2, dfd, q, flags); }); });
}

EXPORT FILE* fopen(const char* p, const char* mode) {
  return with_path(p, [&](const char* q) { return fopen_or_snapshot(q, mode, [&] { return CALL(fopen, q, mode); }); });
}
EXPORT FILE* fopen64(const char* p, const char* mode) {
  return with_path(p, [&](const char* q) { return fopen_or_snapshot(q, mode, [&] { return CALL(fopen64, q, mode); }); });
}
EXPORT FILE* freopen(const char* p, const char* mode, FILE* f) {
  return with_path(p, [&](const char* q) { return CALL(freopen, q, mode, f); });
}
EXPORT FILE* freopen64(const char* p, const char* mode, FILE* f) {
  return with_path(p, [&](const char* q) { return CALL(freopen64, q, mode, f); });
}

// pread on a descriptor open on an id file, after a restart: the translated text (see the header).
using PreadFn = ssize_t (*)(int, void*, size_t, off_t);
PreadFn g_pread, g_pread64;
// Resolved before main (dlsym is not async-signal-safe: a first pread may come from a handler).
__attribute__((constructor)) static void pread_init() {
  g_pread = reinterpret_cast<PreadFn>(dlsym(RTLD_NEXT, "pread"));
  g_pread64 = reinterpret_cast<PreadFn>(dlsym(RTLD_NEXT, "pread64"));
}
EXPORT ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  ssize_t r;
  if (__builtin_expect(amber::pid::id_files_marked(), 0) && off >= 0 && amber::pid::id_file_read(fd, buf, n, off, &r)) return r;
  if (!g_pread) g_pread = reinterpret_cast<PreadFn>(dlsym(RTLD_NEXT, "pread"));
  return g_pread ? g_pread(fd, buf, n, off) : missing<ssize_t>();
}
EXPORT ssize_t pread64(int fd, void* buf, size_t n, off_t off) {
  ssize_t r;
  if (__builtin_expect(amber::pid::id_files_marked(), 0) && off >= 0 && amber::pid::id_file_read(fd, buf, n, off, &r)) return r;
  if (!g_pread64) g_pread64 = reinterpret_cast<PreadFn>(dlsym(RTLD_NEXT, "pread64"));
  return g_pread64 ? g_pread64(fd, buf, n, off) : missing<ssize_t>();
}

EXPORT DIR* opendir(const char* p) {
  return with_path(p, [&](const char* q) { return CALL(opendir, q); });
}

EXPORT int stat(const char* p, struct stat* st) {
  return with_path(p, [&](const char* q) { return CALL(stat, q, st); });
}
EXPORT int stat64(const char* p, struct stat64* st) {
  return with_path(p, [&](const char* q) { return CALL(stat64, q, st); });
}
EXPORT int lstat(const char* p, struct stat* st) {
  return with_path(p, [&](const char* q) { return CALL(lstat, q, st); });
}
EXPORT int lstat64(const char* p, struct stat64* st) {
  return with_path(p, [&](const char* q) { return CALL(lstat64, q, st); });
}
EXPORT int fstatat(int dfd, const char* p, struct stat* st, int fl) {
  return with_path(p, [&](const char* q) { return CALL(fstatat, dfd, q, st, fl); });
}
EXPORT int fstatat64(int dfd, const char* p, struct stat64* st, int fl) {
  return with_path(p, [&](const char* q) { return CALL(fstatat64, dfd, q, st, fl); });
}
// Binaries built against glibc < 2.33 call these instead of stat/lstat/fstatat.
EXPORT int __xstat(int ver, const char* p, struct stat* st) {
  return with_path(p, [&](const char* q) { return CALL(__xstat, ver, q, st); });
}
EXPORT int __xstat64(int ver, const char* p, struct stat64* st) {
  return with_path(p, [&](const char* q) { return CALL(__xstat64, ver, q, st); });
}
EXPORT int __lxstat(int ver, const char* p, struct stat* st) {
  return with_path(p, [&](const char* q) { return CALL(__lxstat, ver, q, st); });
}
EXPORT int __lxstat64(int ver, const char* p, struct stat64* st) {
  return with_path(p, [&](const char* q) { return CALL(__lxstat64, ver, q, st); });
}
EXPORT int __fxstatat(int ver, int dfd, const char* p, struct stat* st, int fl) {
  return with_path(p, [&](const char* q) { return CALL(__fxstatat, ver, dfd, q, st, fl); });
}
EXPORT int __fxstatat64(int ver, int dfd, const char* p, struct stat64* st, int fl) {
  return with_path(p, [&](const char* q) { return CALL(__fxstatat64, ver, dfd, q, st, fl); });
}
EXPORT int statx(int dfd, const char* p, int fl, unsigned mask, struct statx* st) {
  return with_path(p, [&](const char* q) { return CALL(statx, dfd, q, fl, mask, st); });
}

EXPORT int access(const char* p, int mode) {
  return with_path(p, [&](const char* q) { return CALL(access, q, mode); });
}
EXPORT int faccessat(int dfd, const char* p, int mode, int fl) {
  return with_path(p, [&](const char* q) { return CALL(faccessat, dfd, q, mode, fl); });
}

EXPORT ssize_t readlink(const char* p, char* buf, size_t n) {
  ssize_t r = with_path(p, [&](const char* q) { return CALL(readlink, q, buf, n); });
  return fix_link(p, buf, n, r);
}
EXPORT ssize_t readlinkat(int dfd, const char* p, char* buf, size_t n) {
  ssize_t r = with_path(p, [&](const char* q) { return CALL(readlinkat, dfd, q, buf, n); });
  return fix_link(p, buf, n, r);
}
EXPORT ssize_t __readlink_chk(const char* p, char* buf, size_t n, size_t buflen) {
  ssize_t r = with_path(p, [&](const char* q) { return CALL(__readlink_chk, q, buf, n, buflen); });
  return fix_link(p, buf, n, r);
}
EXPORT ssize_t __readlinkat_chk(int dfd, const char* p, char* buf, size_t n, size_t buflen) {
  ssize_t r = with_path(p, [&](const char* q) { return CALL(__readlinkat_chk, dfd, q, buf, n, buflen); });
  return fix_link(p, buf, n, r);
}

EXPORT int chdir(const char* p) {
  return with_path(p, [&](const char* q) { return CALL(chdir, q); });
}
EXPORT int truncate(const char* p, off_t len) {
  return with_path(p, [&](const char* q) { return CALL(truncate, q, len); });
}
EXPORT int truncate64(const char* p, off64_t len) {
  return with_path(p, [&](const char* q) { return CALL(truncate64, q, len); });
}

}  // extern "C"
