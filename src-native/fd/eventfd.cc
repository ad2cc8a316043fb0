// eventfd (AMBER_FD_ANON, subkind EVENTFD; extra = the counter, fd_flags bit AMBER_FD_SEMAPHORE).
// Capture: counter and mode from fdinfo. Restore: a new eventfd with that counter and mode.
// An eventfd shared by several processes of the tree (made before a fork: a producer and a
// consumer, one writing, the other waiting in epoll) is made once before the restored tree is
// forked and inherited, so it is one eventfd again (descriptors dup'ed in one process too); an
// eventfd one descriptor holds is made by its process.
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
    } else if (sys::sstarts(p, "eventfd-id:")) {
      // Every eventfd shares one anonymous inode: its id tells them apart (the restart's index
      // of shared objects is by inode).
      p += 11;
      while (*p == ' ' || *p == '\t') p++;
      f.inode = (1ull << 63) | sys::parse_u(&p, 10);
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

namespace {
long make(const amber_fd& f) {
  int fl = ((f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0) | (f.flags & sys::O_NONBLOCK_) | ((f.fd_flags & AMBER_FD_SEMAPHORE) ? 1 : 0);
  return rs::lift(sys::sc2(sys::NR_eventfd2, (long)(uint32_t)f.extra, fl));
}
}  // namespace

namespace fd {
AMBER_FD_NO_CHECK(eventfd)

void eventfd_prepare() {
  using namespace rs;
  for (Ref* r = refs_begin(Kind::EVENTFD); r != refs_end(Kind::EVENTFD);) {
    Ref* end = r;
    while (end != refs_end(Kind::EVENTFD) && end->inode == r->inode) end++;
    // Several descriptors of one eventfd (its id known: images from 1.4 on), in several
    // processes or dup'ed in one.
    long fd = (r->inode >> 63) && end - r > 1 ? make(fd_of(*r)) : -1;
    for (Ref* e = r; fd >= 0 && e != end; e++) T.img[e->img].prep[e->idx] = (int32_t)fd;
    r = end;
  }
}

long eventfd_restore(rs::Proc& p, uint32_t i) { return make(p.v->fds[i]); }
AMBER_FD_NO_FINISH(eventfd)
}  // namespace fd
#endif
