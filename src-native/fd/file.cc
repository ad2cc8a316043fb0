// Regular files (AMBER_FD_FILE): reopened at their path with the saved status flags and offset.
//
// Capture: nothing beyond the fields every record has (path, flags, offset from fdinfo).
// A file deleted since it was opened cannot be reopened: named at checkpoint, /dev/null at restart.
// Restore: stage 1 refuses a file that is gone; before the fork, every open file description
// shared by several descriptors (dup, inheritance over fork: the coordinator found them with kcmp
// and restart passes them as --share groups) is opened once, so its members keep one offset as
// they had; the others are reopened by the process itself. Directories share this through
// reopen() and the share groups too (fd/dir.cc).
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace fd {
void file_capture(amber::Capture&, amber_fd&, const sys::kstat&) {}
bool file_restorable(const amber::Capture& c, const amber_fd& f) {
  return !(f.path.len > 10 && !__builtin_memcmp(c.str.buf + f.path.off + f.path.len - 10, " (deleted)", 10));
}
AMBER_FD_NO_RESUMED(file)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
long reopen(const amber_fd& f, const char* path) {
  if (f.kind == AMBER_FD_DIR) return lift(sys::open(path, sys::O_RDONLY_ | sys::O_DIRECTORY_, 0));
  long fd = lift(sys::open(path, (f.flags & ~(sys::O_CREAT_ | sys::O_EXCL_ | sys::O_TRUNC_ | sys::O_CLOEXEC_)) | sys::O_NOCTTY_, 0));
  if (fd >= 0 && f.kind == AMBER_FD_FILE) sys::lseek((int)fd, (int64_t)f.pos, 0);
  return fd;
}

// Stage 1: a file (or directory) the process had open must still be there.
void check_open_files(int img, uint32_t kind) {
  const amber_view& v = T.img[img].v;
  char path[4096];
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if (f.fd <= 2 || f.kind != kind) continue;
    str_of(v, f.path, path, sizeof path);
    if (is_deleted(path)) continue;  // becomes /dev/null
    sys::kstat st{};
    long e = sys::fstatat(-100, path, &st, 0);
    if (e < 0) die(EXIT_HOST, "a file the process had open is missing:", path, e);
  }
}

// The saved path, reopened, or -1 (deleted: /dev/null).
long reopen_saved(Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  char path[4096];
  str_of(*p.v, f.path, path, sizeof path);
  if (is_deleted(path)) return -1;
  return reopen(f, path);
}
}  // namespace rs

namespace fd {
void file_check(int img) { rs::check_open_files(img, AMBER_FD_FILE); }

// Shared open file descriptions (--share), regular files and directories alike.
void file_prepare() {
  using namespace rs;
  for (uint32_t i = 0; i < T.nshare;) {
    uint32_t g = T.share[i].grp, end = i;
    while (end < T.nshare && T.share[end].grp == g) end++;
    long made = -1;
    for (uint32_t k = i; k < end && made < 0; k++) {
      const ShareFd& s = T.share[k];
      if (s.img >= T.n) continue;
      int idx = find_fd(s.img, s.fd);
      if (idx < 0) continue;
      const amber_view& v = T.img[s.img].v;
      const amber_fd& f = v.fds[idx];
      if (f.kind != AMBER_FD_FILE && f.kind != AMBER_FD_DIR) continue;
      char path[4096];
      const char* d;
      uint32_t len;
      if (!amber_str_at(&v, f.path, &d, &len) || len >= sizeof path) break;
      memcpy(path, d, len);
      path[len] = 0;
      if (is_deleted(path)) break;
      made = reopen(f, path);
      break;
    }
    for (uint32_t k = i; k < end && made >= 0; k++) {
      const ShareFd& s = T.share[k];
      int idx = s.img < T.n ? find_fd(s.img, s.fd) : -1;
      if (idx < 0) continue;
      const amber_fd& f = T.img[s.img].v.fds[idx];
      if ((f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR) && !restart_stdio(f, s.img) && T.img[s.img].prep[idx] < 0)
        assign(s.img, (uint32_t)idx, made);
    }
    settle();
    i = end;
  }
}

long file_restore(rs::Proc& p, uint32_t i) { return rs::reopen_saved(p, i); }
AMBER_FD_NO_FINISH(file)
}  // namespace fd
#endif
