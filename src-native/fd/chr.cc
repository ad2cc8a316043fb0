// Character devices other than pseudo-terminals (AMBER_FD_CHR, subkind OTHER: /dev/null,
// /dev/zero, /dev/urandom, a terminal whose master is outside the computation): reopened at
// their path with the saved status flags. A terminal that is the launcher's stdio becomes the
// restart's own instead (fd/stdio.cc).
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void chr_capture(amber::Capture&, amber_fd&, const sys::kstat&) {}
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
