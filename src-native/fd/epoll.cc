// epoll instances (AMBER_FD_ANON, subkind EPOLL; data = amber_epoll_entry[], its interest list:
// target descriptor, events, user data).
//
// Capture: the interest list from fdinfo (every entry; the list has no cap but the image's string
// space, and a list that does not fit fails the checkpoint). Restore: a new epoll instance, and
// once every descriptor of the process is back (finish), each target added again with its events
// and data. Readiness is recomputed by the kernel: level-triggered waiters see the same events;
// an edge-triggered event consumed before the checkpoint does not fire again.
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void epoll_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_EPOLL;
  uint32_t n = 0;
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "tfd:")) n++;
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  auto* ep = reinterpret_cast<amber_epoll_entry*>(c.str.reserve(n * sizeof(amber_epoll_entry)));
  if (!ep) return;  // the capture fails: the string space is full
  auto skip = [](const char* p) { while (*p == ' ' || *p == '\t') p++; return p; };
  uint32_t k = 0;
  for (const char* p = c.info; *p && k < n;) {
    if (sys::sstarts(p, "tfd:")) {
      amber_epoll_entry e{};
      p = skip(p + 4);
      e.tfd = (int32_t)sys::parse_u(&p, 10);
      p = skip(p);
      if (sys::sstarts(p, "events:")) { p = skip(p + 7); e.events = (uint32_t)sys::parse_u(&p, 16); }
      p = skip(p);
      if (sys::sstarts(p, "data:")) { p = skip(p + 5); e.data = sys::parse_u(&p, 16); }
      __builtin_memcpy(&ep[k++], &e, sizeof e);  // the string space is only byte aligned
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  f.data = c.str.add(reinterpret_cast<const char*>(ep), k * sizeof(amber_epoll_entry));
}
bool epoll_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(epoll)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(epoll)
AMBER_FD_NO_PREPARE(epoll)
long epoll_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  return rs::lift(sys::sc1(sys::NR_epoll_create1, (f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0));  // interest list: finish
}

void epoll_finish(rs::Proc& p) {
  const amber_view& v = *p.v;
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if (f.kind != AMBER_FD_ANON || f.subkind != AMBER_ANON_EPOLL) continue;
    const char* d;
    uint32_t len;
    if (!amber_str_at(&v, f.data, &d, &len)) continue;
    for (uint32_t k = 0; k + sizeof(amber_epoll_entry) <= len; k += sizeof(amber_epoll_entry)) {
      amber_epoll_entry e;
      memcpy(&e, d + k, sizeof e);
      struct __attribute__((packed)) { uint32_t events; uint64_t data; } ev = {e.events, e.data};
      sys::sc4(sys::NR_epoll_ctl, f.fd, 1 /*EPOLL_CTL_ADD*/, e.tfd, (long)&ev);
    }
  }
}
}  // namespace fd
#endif
