// userfaultfd (AMBER_FD_ANON, subkind USERFAULTFD; extra = the features of its API handshake): a
// program resolving its own page faults (a garbage collector, a checkpointer of its own, a
// post-copy migration) with the regions it registered.
//
// Capture: the features from fdinfo ("API:\t<api>:<features>:<ioctls>"); the registered regions
// are the memory regions whose smaps VmFlags say so (um, uw, ui: AMBER_VM_UFFD_*).
// Restore (stage 3: the memory is back): a new userfaultfd with the descriptor's flags (user-mode
// faults only when the restarting user may not have more: the kernel then refuses the plain
// call), the same handshake, and every such region of the process registered again with its
// modes. Pages that were missing are missing again (the program is told of each first touch, as
// before); pages present come back with their bytes. Limits: a process with two userfaultfds gets
// every registration on each (their split is not visible); write-protection of single pages
// (UFFDIO_WRITEPROTECT) is not restored; a fault the program had read and not resolved at the
// checkpoint is reported again when the faulting thread touches the page again after the restart.
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void uffd_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_USERFAULTFD;
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "API:")) {
      p += 4;
      while (*p == ' ' || *p == '\t') p++;
      sys::parse_u(&p, 16);
      if (*p == ':') {
        p++;
        f.extra = sys::parse_u(&p, 16) & 0x7fffffffull;  // bit 31: the kernel's own "initialized"
        f.fd_flags |= AMBER_FD_UFFD_API;
      }
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
}
bool uffd_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(uffd)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(uffd)
AMBER_FD_NO_PREPARE(uffd)

long uffd_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  int fl = ((f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0) | (f.flags & sys::O_NONBLOCK_);
  long u = sys::sc1(323 /*userfaultfd*/, fl);
  if (u == -1 /*EPERM*/ || u == -13 /*EACCES*/) u = sys::sc1(323, fl | 1 /*UFFD_USER_MODE_ONLY*/);
  if (u < 0) return u;
  if (!(f.fd_flags & AMBER_FD_UFFD_API)) return rs::lift(u);  // no handshake yet: nothing registered
  struct { uint64_t api, features, ioctls; } api{0xAA /*UFFD_API*/, f.extra, 0};
  long e = sys::ioctl((int)u, (long)0xc018aa3f /*UFFDIO_API*/, (long)&api);
  if (e < 0) {
    rs::warn_fd("cannot make its userfaultfd handshake again (UFFDIO_API)", f, e, "its regions are not registered");
    return rs::lift(u);
  }
  for (uint32_t k = 0; k < p.v->nregions; k++) {
    const amber_region& r = p.v->regions[k];
    uint64_t mode = ((r.vmflags & AMBER_VM_UFFD_MISSING) ? 1 : 0) | ((r.vmflags & AMBER_VM_UFFD_WP) ? 2 : 0) |
                    ((r.vmflags & AMBER_VM_UFFD_MINOR) ? 4 : 0);
    if (!mode) continue;
    struct { uint64_t start, len, mode, ioctls; } reg{r.start, r.end - r.start, mode, 0};
    e = sys::ioctl((int)u, (long)0xc020aa00 /*UFFDIO_REGISTER*/, (long)&reg);
    if (e < 0) rs::warn_fd("cannot register a region with its userfaultfd again (UFFDIO_REGISTER)", f, e, "the faults there are not reported");
  }
  return rs::lift(u);
}
AMBER_FD_NO_FINISH(uffd)
}  // namespace fd
#endif
