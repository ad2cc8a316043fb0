// Character devices other than pseudo-terminals (AMBER_FD_CHR, subkind OTHER: /dev/null,
// /dev/zero, /dev/urandom, a terminal whose master is outside the computation): reopened at
// their path with the saved status flags. A terminal that is the launcher's stdio becomes the
// restart's own instead (fd/stdio.cc); /dev/null never does by identity (its access mode is the
// descriptor's own: `script`'s log on /dev/null is written to).
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
// A terminal (a serial line, the console, /dev/tty) is told apart from /dev/null and the like:
// only a terminal may stand for the restart's own (fd/stdio.cc).
void chr_capture(amber::Capture&, amber_fd& f, const sys::kstat&) {
  uint8_t t[60];
  if (sys::ioctl(f.fd, 0x5401 /*TCGETS*/, (long)t) == 0) f.fd_flags |= AMBER_FD_TTY;
}
bool chr_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(chr)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(chr)
AMBER_FD_NO_PREPARE(chr)
long chr_restore(rs::Proc& p, uint32_t i) { return rs::reopen_saved(p, i); }
AMBER_FD_NO_FINISH(chr)
}  // namespace fd
#endif
