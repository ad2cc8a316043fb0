// signalfd (AMBER_FD_ANON, subkind SIGNALFD; extra = the signal mask). Capture: the mask from
// fdinfo. Restore: a new signalfd for that mask. Pending signals are the process's, not the fd's.
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void signalfd_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_SIGNALFD;
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "sigmask:")) {
      p += 8;
      while (*p == ' ' || *p == '\t') p++;
      f.extra = sys::parse_u(&p, 16);
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
}
bool signalfd_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(signalfd)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(signalfd)
AMBER_FD_NO_PREPARE(signalfd)
long signalfd_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  uint64_t mask = f.extra;
  int fl = ((f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0) | (f.flags & sys::O_NONBLOCK_);
  return rs::lift(sys::sc4(sys::NR_signalfd4, -1, (long)&mask, 8, fl));
}
AMBER_FD_NO_FINISH(signalfd)
}  // namespace fd
#endif
