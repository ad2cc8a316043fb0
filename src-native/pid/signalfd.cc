// Pid virtualization of signalfd(2): a signalfd_siginfo read from a signalfd carries the sender's
// kernel pid (ssi_pid), which after a restart is not the pid the program knows — the sender may be
// the program itself, a signal it had pending at the checkpoint queued again by this run's
// process. Reads from a signalfd translate ssi_pid kernel -> app, as sigwaitinfo and SA_SIGINFO
// handlers already do.
//
// The signalfds are known by number (signalfd() here marks them; what marks a number is checked
// against the descriptor itself before translating: closed or reused, it is not one any more).
// read() on any other descriptor is glibc's read, untouched, with one load and a branch more.
// Agent only: the marks live in .bss, saved and restored with memory.
#ifdef AMBER_AGENT
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fd/file.h"
#include "pid/pid.h"
#include "sys/sys.h"

namespace {
constexpr int kMaxFd = 65536;
uint8_t g_mark[kMaxFd / 8];  // signalfd numbers (a hint: checked before use)
volatile uint32_t g_any;     // a signalfd was ever made: reads look at the marks at all

using ReadFn = ssize_t (*)(int, void*, size_t);
using SfdFn = int (*)(int, const sigset_t*, int);
ReadFn g_read;
SfdFn g_signalfd;

// Resolved in a constructor: dlsym takes the loader's lock, which a vfork child must not.
__attribute__((constructor)) void signalfd_init() {
  g_read = reinterpret_cast<ReadFn>(dlsym(RTLD_NEXT, "read"));
  g_signalfd = reinterpret_cast<SfdFn>(dlsym(RTLD_NEXT, "signalfd"));
}

bool marked(int fd) { return fd >= 0 && fd < kMaxFd && (g_mark[fd / 8] >> (fd % 8) & 1); }

// Still a signalfd? (anon_inode:[signalfd]; a number closed and reused by another kind is not)
bool is_signalfd(int fd) {
  char l[32];
  return sys::fd_link(fd, l, sizeof l) > 0 && sys::seq(l, "anon_inode:[signalfd]");
}
}  // namespace

extern "C" {
__attribute__((visibility("default"))) int signalfd(int fd, const sigset_t* mask, int flags) {
  if (!g_signalfd) g_signalfd = reinterpret_cast<SfdFn>(dlsym(RTLD_NEXT, "signalfd"));  // before our constructor
  if (!g_signalfd) { errno = ENOSYS; return -1; }
  int r = g_signalfd(fd, mask, flags);
  if (r >= 0 && r < kMaxFd) {
    __atomic_or_fetch(&g_mark[r / 8], (uint8_t)(1u << (r % 8)), __ATOMIC_RELAXED);
    __atomic_store_n(&g_any, 1u, __ATOMIC_RELEASE);
  }
  return r;
}

__attribute__((visibility("default"))) ssize_t read(int fd, void* buf, size_t n) {
  if (!g_read) g_read = reinterpret_cast<ReadFn>(dlsym(RTLD_NEXT, "read"));  // another preload's constructor, before ours
  if (!g_read) { errno = ENOSYS; return -1; }
  ssize_t r;
  if (__builtin_expect(amber::pid::id_files_marked(), 0) && amber::pid::id_file_read(fd, buf, n, -1, &r)) return r;  // (proc.cc)
  if (__builtin_expect(amber::inotify::replaying(fd), 0) && amber::inotify::read(fd, buf, n, g_read, &r)) return r;  // (fd/inotify.cc)
  if (__builtin_expect(amber::fanotify::replaying(fd), 0) && amber::fanotify::read(fd, buf, n, g_read, &r)) return r;  // (fd/fanotify.cc)
  r = g_read(fd, buf, n);
  if (r < (ssize_t)sizeof(signalfd_siginfo) || !__atomic_load_n(&g_any, __ATOMIC_ACQUIRE) || !marked(fd) ||
      (size_t)r % sizeof(signalfd_siginfo) != 0 || !is_signalfd(fd))
    return r;
  auto* s = static_cast<signalfd_siginfo*>(buf);
  for (size_t i = 0; i < (size_t)r / sizeof *s; i++) {
    int c = s[i].ssi_code;
    bool has_pid = c == SI_USER || c == SI_QUEUE || c == SI_TKILL || c == SI_MESGQ ||
                   (s[i].ssi_signo == SIGCHLD && c >= CLD_EXITED && c <= CLD_CONTINUED);
    if (has_pid && (int32_t)s[i].ssi_pid > 0) s[i].ssi_pid = (uint32_t)amber::pid::to_app((int32_t)s[i].ssi_pid);
  }
  return r;
}
}
#endif  // AMBER_AGENT
