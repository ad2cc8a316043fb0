// What amber cannot rebuild (AMBER_FD_OTHER, an anon_inode of an unknown kind —
// io_uring, perf_event, bpf ... —, a socket of another family — packet, ... —; netlink: fd/netlink.cc):
// named at checkpoint (`unrestorable` in the written reply, a warning of `amber checkpoint`);
// at restart the number becomes /dev/null, so the application sees end-of-file rather than
// crashing or reusing the number by accident. A socket's record is kept (amber inspect shows it).
#include "fd/socket.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void other_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  if (f.kind != AMBER_FD_SOCKET) return;
  amber_sockinfo si{};
  socket_describe(f.fd, si, &f.subkind);
  f.subkind = AMBER_SOCK_OTHER;
  socket_store(c, f, si);
}
bool other_restorable(const amber::Capture&, const amber_fd&) { return false; }
AMBER_FD_NO_RESUMED(other)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
namespace fd {
AMBER_FD_NO_CHECK(other)
AMBER_FD_NO_PREPARE(other)
long other_restore(rs::Proc&, uint32_t) { return -1; }
AMBER_FD_NO_FINISH(other)
}  // namespace fd
#endif
