// eventfd (AMBER_FD_ANON, subkind EVENTFD; extra = the counter, fd_flags bit AMBER_FD_SEMAPHORE).
// Capture: counter and mode from fdinfo. Restore: a new eventfd with that counter and mode.
// An eventfd shared by several processes comes back as one per process (each with the counter).
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void eventfd_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_EVENTFD;
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "eventfd-count:")) {
      p += 14;
      while (*p == ' ' || *p == '\t') p++;
      f.extra = sys::parse_u(&p, 16);
    } else if (sys::sstarts(p, "eventfd-semaphore:")) {
      p += 18;
      while (*p == ' ' || *p == '\t') p++;
      if (*p == '1') f.fd_flags |= AMBER_FD_SEMAPHORE;
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
}
bool eventfd_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(eventfd)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(eventfd)
AMBER_FD_NO_PREPARE(eventfd)
long eventfd_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  int fl = ((f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0) | (f.flags & sys::O_NONBLOCK_) | ((f.fd_flags & AMBER_FD_SEMAPHORE) ? 1 : 0);
  return rs::lift(sys::sc2(sys::NR_eventfd2, (long)(uint32_t)f.extra, fl));
}
AMBER_FD_NO_FINISH(eventfd)
}  // namespace fd
#endif
