// Process groups, sessions and the terminal's foreground group, in the application's pids.
//
// A group or session is named by the pid of its leader, so these calls take and return pids like
// any other: translated through the same map as getpid/kill (pid.cc). Before the first restart the
// map is empty and every wrapper is a pass-through. The restorer recreates the groups and sessions
// themselves (restore/restore.cc, from amber_process.pgid/sid/tpgid); these wrappers only keep the
// numbers the application sees the same.
//
// glibc's own callers (e.g. posix_spawn's POSIX_SPAWN_SETPGROUP) use internal entry points we do
// not see: they receive pids the application gave them, already translated by nothing, so a
// spawn attribute naming an app pgid after a restart is not translated (rare: shells call
// setpgid themselves).
#include <errno.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#include <stdarg.h>

#include "fd/file.h"
#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"

using amber::pid::to_app;
using amber::pid::to_real;

extern "C" {

__attribute__((visibility("default"))) pid_t getpgid(pid_t pid) {
  long r = sys::sc1(121 /*getpgid*/, to_real(pid));
  if (r < 0) { errno = (int)-r; return -1; }
  return to_app((int32_t)r);
}

__attribute__((visibility("default"))) pid_t getpgrp(void) { return getpgid(0); }

// (__getpgid is glibc's exported alias; some programs link against it.)
__attribute__((visibility("default"))) pid_t __getpgid(pid_t pid) { return getpgid(pid); }

__attribute__((visibility("default"))) int setpgid(pid_t pid, pid_t pgid) {
  long r = sys::sc2(109 /*setpgid*/, to_real(pid), to_real(pgid));
  if (r < 0) { errno = (int)-r; return -1; }
  return 0;
}

__attribute__((visibility("default"))) int setpgrp(void) { return setpgid(0, 0); }

__attribute__((visibility("default"))) pid_t getsid(pid_t pid) {
  long r = sys::sc1(124 /*getsid*/, to_real(pid));
  if (r < 0) { errno = (int)-r; return -1; }
  return to_app((int32_t)r);
}

__attribute__((visibility("default"))) pid_t setsid(void) {
  long r = sys::sc0(112 /*setsid*/);
  if (r < 0) { errno = (int)-r; return -1; }
  return to_app((int32_t)r);  // the new session is named by us: our own (app) pid
}

__attribute__((visibility("default"))) pid_t tcgetpgrp(int fd) {
  int32_t pg = 0;
  long r = sys::sc3(16 /*ioctl*/, fd, 0x540f /*TIOCGPGRP*/, (long)&pg);
  if (r < 0) { errno = (int)-r; return -1; }
  return to_app(pg);
}

__attribute__((visibility("default"))) int tcsetpgrp(int fd, pid_t pgrp) {
  int32_t pg = to_real(pgrp);
  long r = sys::sc3(16 /*ioctl*/, fd, 0x5410 /*TIOCSPGRP*/, (long)&pg);
  if (r < 0) { errno = (int)-r; return -1; }
  return 0;
}

// ioctl(2), as glibc's (a plain system call), for the requests that carry a process id (the
// terminal's foreground process group and session, as tcgetpgrp/tcsetpgrp/tcgetsid above) and
// FIONREAD on an inotify or fanotify instance with events kept at a checkpoint (fd/inotify.cc,
// fd/fanotify.cc).
__attribute__((visibility("default"))) int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  long arg = va_arg(ap, long);
  va_end(ap);
  long r;
  switch (req) {
    case 0x540f /*TIOCGPGRP*/:
    case 0x5429 /*TIOCGSID*/: {
      int32_t v = 0;
      r = sys::sc3(16, fd, (long)req, (long)&v);
      if (r == 0) {
        v = to_app(v);
        r = sys::vm_write(reinterpret_cast<void*>(arg), &v, sizeof v) == (long)sizeof v ? 0 : -EFAULT;
      }
      break;
    }
    case 0x5410 /*TIOCSPGRP*/: {
      int32_t v = 0;
      if (sys::vm_read(&v, reinterpret_cast<const void*>(arg), sizeof v) != (long)sizeof v) { r = -EFAULT; break; }
      v = to_real(v);
      r = sys::sc3(16, fd, (long)req, (long)&v);
      break;
    }
    case 0x541b /*FIONREAD*/:
      r = sys::sc3(16, fd, (long)req, arg);
      if (r == 0 && amber::inotify::replaying(fd)) {
        int v = 0;
        if (sys::vm_read(&v, reinterpret_cast<const void*>(arg), sizeof v) == (long)sizeof v) {
          amber::inotify::fionread(fd, &v);
          sys::vm_write(reinterpret_cast<void*>(arg), &v, sizeof v);
        }
      }
      if (r == 0 && amber::fanotify::replaying(fd)) {
        int v = 0;
        if (sys::vm_read(&v, reinterpret_cast<const void*>(arg), sizeof v) == (long)sizeof v) {
          amber::fanotify::fionread(fd, &v);
          sys::vm_write(reinterpret_cast<void*>(arg), &v, sizeof v);
        }
      }
      break;
    default: r = sys::sc3(16, fd, (long)req, arg);
  }
  if (r < 0) { errno = (int)-r; return -1; }
  return (int)r;
}

__attribute__((visibility("default"))) pid_t tcgetsid(int fd) {
  int32_t sid = 0;
  long r = sys::sc3(16 /*ioctl*/, fd, 0x5429 /*TIOCGSID*/, (long)&sid);
  if (r < 0) { errno = (int)-r; return -1; }
  return to_app(sid);
}

}  // extern "C"
