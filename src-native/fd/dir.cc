// Directories (AMBER_FD_DIR): reopened at their path (O_DIRECTORY; a directory's offset is not
// restored, a readdir in progress starts again). A directory deleted since: named at checkpoint,
// /dev/null at restart; one missing at restart refuses the restart in stage 1. Descriptors sharing
// one open description are opened once before the fork with the regular files' share groups
// (fd/file.cc, file_prepare).
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void dir_capture(amber::Capture&, amber_fd&, const sys::kstat&) {}
bool dir_restorable(const amber::Capture& c, const amber_fd& f) { return file_restorable(c, f); }
AMBER_FD_NO_RESUMED(dir)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
void dir_check(int img) { rs::check_open_files(img, AMBER_FD_DIR); }
AMBER_FD_NO_PREPARE(dir)  // share groups: file_prepare
long dir_restore(rs::Proc& p, uint32_t i) { return rs::reopen_saved(p, i); }
AMBER_FD_NO_FINISH(dir)
}  // namespace fd
#endif
