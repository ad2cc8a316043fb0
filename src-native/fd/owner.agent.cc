// The owner and signal of a descriptor (F_SETOWN / F_SETOWN_EX, F_SETSIG): who gets SIGIO/SIGURG
// (or the F_SETSIG signal) when O_ASYNC I/O is possible, when out-of-band data arrives, when a
// lease is being broken. State every kind of descriptor may carry, and a pid: agent only.
//
// Capture: F_GETOWN_EX and F_GETSIG of every descriptor; the ones that are not the default (no
// owner, signal 0) go into a table in the agent's own memory, with the owner as the application
// knows it (its app pid, app tid or process group). That memory is saved with the process, so the
// table comes back with it at restart, where the agent sets every owner again with the new kernel
// pid the coordinator's pid map gives (fds_restarted, before any application thread runs again).
// The status flag O_ASYNC itself is put back by the restorer with the others.
//
// The fcntl wrappers below keep the owners and lock holders the application sees in app pids:
// F_SETOWN/F_SETOWN_EX take one (translated to the kernel's), F_GETOWN/F_GETOWN_EX and the l_pid
// of F_GETLK/F_OFD_GETLK give one back. Every other command goes to libc's fcntl untouched.
#undef _FILE_OFFSET_BITS  // fcntl and fcntl64 are two symbols: each wrapper under its own name
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "fd/file.h"
#include "pid/pid.h"
#include "sys/usermem.h"

namespace {
struct Owner {
  int32_t fd;
  int32_t type;  // F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP
  int32_t id;    // app tid / pid / process group id
  int32_t sig;   // F_SETSIG (0: SIGIO)
};
// Owners are rare (a handful of async sockets, a lease): a fixed table in .bss costs nothing until
// used; more than it holds is named at checkpoint, never dropped silently.
constexpr uint32_t kOwners = 4096;
Owner g_owners[kOwners];
uint32_t g_nowners;

struct OwnerEx {
  int type;
  int pid;
};
}  // namespace

namespace fd {
void owners_begin() { g_nowners = 0; }

void owner_capture(amber::Capture& c, const amber_fd& f) {
  OwnerEx o{0, 0};
  long r = sys::fcntl(f.fd, F_GETOWN_EX, (long)&o);
  long sig = sys::fcntl(f.fd, F_GETSIG, 0);
  if (r < 0) o = OwnerEx{F_OWNER_PID, 0};
  if (sig < 0) sig = 0;
  if (!o.pid && !sig) return;
  if (g_nowners == kOwners) {
    c.limit(f, "has an owner or signal (F_SETOWN/F_SETSIG) beyond the 4096 the agent keeps: it has none after restart");
    return;
  }
  int32_t id = o.type == F_OWNER_TID ? amber::pid::to_app_tid(o.pid) : amber::pid::to_app(o.pid);
  g_owners[g_nowners++] = Owner{f.fd, o.type, id, (int32_t)sig};
}
}  // namespace fd

namespace amber {
// The restart path of the checkpoint thread, the pid map applied, application threads parked.
void fds_restarted() {
  for (uint32_t i = 0; i < g_nowners; i++) {
    const Owner& w = g_owners[i];
    if (w.id) {
      OwnerEx o{w.type, w.type == F_OWNER_TID ? pid::to_real_tid(w.id) : pid::to_real(w.id)};
      long r = sys::fcntl(w.fd, F_SETOWN_EX, (long)&o);
      if (r < 0) {
        char m[160];
        sys::Out o(m, sizeof m);
        o.s("amber: warning: restart: fd ").i(w.fd).s(": cannot set its owner again (F_SETOWN_EX, errno ").i(-r).s("): it has none\n");
        sys::write_all(2, m, o.len);
      }
    }
    if (w.sig) sys::fcntl(w.fd, F_SETSIG, w.sig);
  }
  dnotify_restarted();
  inotify::restarted();
  fanotify::restarted();
}
}  // namespace amber

namespace {
using amber::pid::to_app;
using amber::pid::to_app_tid;

inline long ret(long r) {
  if ((unsigned long)r > -4096ul) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

using Fcntl = int (*)(int, int, ...);

// Only the commands that carry a pid are handled here; the rest go to libc (F_SETLKW and
// F_OFD_SETLKW are cancellation points there).
int wrap(Fcntl next, int fd, int cmd, long arg) {
  switch (cmd) {
    case F_SETOWN: {
      int32_t id = (int32_t)arg;
      return (int)ret(sys::fcntl(fd, F_SETOWN, id < 0 ? -amber::pid::to_real(-id) : amber::pid::to_real(id)));
    }
    case F_GETOWN: {
      // As glibc: through F_GETOWN_EX, so that a process group comes back negative.
      OwnerEx o{0, 0};
      long r = sys::fcntl(fd, F_GETOWN_EX, (long)&o);
      if (r < 0) return (int)ret(r);
      return o.type == F_OWNER_PGRP ? -to_app(o.pid) : to_app(o.pid);
    }
    case F_SETOWN_EX: {
      // Read through the kernel: an unreadable argument goes to the kernel untouched, which
      // answers as it would without us (EBADF before EFAULT), never a crash in here.
      OwnerEx o{0, 0};
      if (sys::vm_read(&o, reinterpret_cast<const void*>(arg), sizeof o) != (long)sizeof o)
        return (int)ret(sys::fcntl(fd, cmd, arg));
      o.pid = o.type == F_OWNER_TID ? amber::pid::to_real_tid(o.pid) : amber::pid::to_real(o.pid);
      return (int)ret(sys::fcntl(fd, F_SETOWN_EX, (long)&o));
    }
    case F_GETOWN_EX: {
      long r = sys::fcntl(fd, cmd, arg);
      if (r == 0 && arg) {
        OwnerEx* o = reinterpret_cast<OwnerEx*>(arg);
        o->pid = o->type == F_OWNER_TID ? to_app_tid(o->pid) : to_app(o->pid);
      }
      return (int)ret(r);
    }
    case F_GETLK:
    case F_OFD_GETLK: {
      long r = sys::fcntl(fd, cmd, arg);
      if (r == 0 && arg) {
        struct flock* l = reinterpret_cast<struct flock*>(arg);
        if (l->l_type != F_UNLCK && l->l_pid > 0) l->l_pid = to_app(l->l_pid);
      }
      return (int)ret(r);
    }
    case F_NOTIFY: {  // kept: the kernel shows it nowhere (fd/dnotify.agent.cc)
      long r = sys::fcntl(fd, cmd, arg);
      if (r == 0) fd::dnotify_note(fd, (unsigned long)arg);
      return (int)ret(r);
    }
    default: return next(fd, cmd, arg);
  }
}
}  // namespace

extern "C" {
__attribute__((visibility("default"))) int fcntl(int fd, int cmd, ...) {
  static Fcntl next = reinterpret_cast<Fcntl>(dlsym(RTLD_NEXT, "fcntl"));
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  return wrap(next, fd, cmd, arg);
}

__attribute__((visibility("default"))) int fcntl64(int fd, int cmd, ...) {
  static Fcntl next = reinterpret_cast<Fcntl>(dlsym(RTLD_NEXT, "fcntl64"));
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  return wrap(next, fd, cmd, arg);
}
}
