// Directories (AMBER_FD_DIR; subkind AMBER_FILE_*, as regular files):
//  PATH     reopened at their path (O_DIRECTORY, O_PATH kept) at the saved offset: a readdir in
//           progress goes on where it stopped (the offset is the filesystem's cookie for the next
//           entry). One missing at restart refuses the restart in stage 1.
//  DELETED  removed while open (an rmdir'd directory is empty by definition): made again under its
//           old name when that name is free (else a fresh name beside it), opened, and removed
//           again, before the fork; every descriptor of it in the tree gets that directory, one
//           description per --share group. A deleted working directory is made the same way
//           (proc/process.cc, through remake_dir), or is the same directory as a descriptor the
//           process holds on it.
//  PROC     /proc/<pid> of a process of the tree: its new kernel pid's (fd/file.cc, files_forked).
// Descriptors sharing one open description of a directory at its path are opened once before the
// fork with the regular files' share groups (fd/file.cc, file_prepare). Locks (flock on a
// directory is a common way to lock a tree of files) are in its data, as for files (fd/lock.cc).
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"
#include "pid/pid.h"

namespace fd {
void dir_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  const char* path = c.str.buf + f.path.off;
  uint32_t n = f.path.len;
  if (int32_t pid = proc_path_pid(path, n)) {
    f.subkind = AMBER_FILE_PROC;
    f.extra = (uint64_t)(uint32_t)amber::pid::to_app(pid);
  } else if (n > 10 && !__builtin_memcmp(path + n - 10, " (deleted)", 10)) {
    f.subkind = AMBER_FILE_DELETED;
  }
  locks_capture(c, f);
}
bool dir_restorable(const amber::Capture& c, const amber_fd& f) { return file_restorable(c, f); }
AMBER_FD_NO_RESUMED(dir)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
// A removed directory made again (saved: its readlink, " (deleted)" included), opened and removed
// again: the descriptor (lifted) or -errno.
long remake_dir(const char* saved, uint32_t mode) {
  char path[4096];
  size_t n = sys::slen(saved);
  if (n > 10 && sys::seq(saved + n - 10, " (deleted)")) n -= 10;
  if (n + 32 >= sizeof path || saved[0] != '/') return -36;  // ENAMETOOLONG (or no path at all)
  memcpy(path, saved, n);
  path[n] = 0;
  long r = sys::sc2(sys::NR_mkdir, (long)path, 0700);
  for (uint32_t k = 0; r == -17 /*EEXIST*/ && k < 100; k++) {
    // The name is taken again: a fresh one beside it (readlink then shows that name).
    sys::Out(path + n, sizeof path - n).s(".amber-").i(sys::getpid()).c('-').u(k);
    r = sys::sc2(sys::NR_mkdir, (long)path, 0700);
  }
  if (r < 0) return r;
  long fd = lift(sys::open(path, sys::O_RDONLY_ | sys::O_DIRECTORY_ | sys::O_CLOEXEC_, 0));
  sys::sc1(sys::NR_rmdir, (long)path);
  if (fd >= 0) sys::sc2(sys::NR_fchmod, fd, (long)(mode & 07777));
  return fd;
}
}  // namespace rs

namespace fd {
void dir_check(int img) { rs::check_open_files(img, AMBER_FD_DIR); }

// Removed directories, once per (dev, inode) in the tree; share groups of directories at their
// path: file_prepare.
void dir_prepare() {
  using namespace rs;
  for (Ref* r = refs_begin(Kind::DIR); r != refs_end(Kind::DIR);) {
    Ref* end = r;
    while (end != refs_end(Kind::DIR) && end->inode == r->inode) end++;
    for (Ref* a = r; a != end; a++) {
      const amber_fd& fa = fd_of(*a);
      if (fa.subkind != AMBER_FILE_DELETED || T.img[a->img].prep[a->idx] >= 0 || restart_stdio(fa, (int)a->img)) continue;
      char saved[4096];
      str_of(T.img[a->img].v, fa.path, saved, sizeof saved);
      long fd = remake_dir(saved, fa.mode);
      if (fd < 0) { warn_fd("cannot make its removed directory again", fa, fd, "it becomes /dev/null"); continue; }
      // Every descriptor of it: the descriptors of one --share group one description, the others
      // each their own (a directory's own description only carries its offset).
      for (Ref* b = a; b != end; b++) {
        const amber_fd& fb = fd_of(*b);
        if (fb.dev != fa.dev || fb.subkind != AMBER_FILE_DELETED || restart_stdio(fb, (int)b->img) ||
            T.img[b->img].prep[b->idx] >= 0)
          continue;
        char self[48];
        sys::Out(self, sizeof self).s("/proc/thread-self/fd/").i(fd);
        long d = b == a ? fd : lift(sys::open(self, sys::O_RDONLY_ | sys::O_DIRECTORY_ | sys::O_CLOEXEC_, 0));
        if (d < 0) { warn_fd("cannot open its remade directory again", fb, d, "it becomes /dev/null"); continue; }
        T.img[b->img].prep[b->idx] = (int32_t)d;
      }
    }
    r = end;
  }
}

long dir_restore(rs::Proc& p, uint32_t i) {
  if (p.v->fds[i].subkind == AMBER_FILE_DELETED) return -1;  // made before the fork, or said why not
  return rs::reopen_saved(p, i);
}
AMBER_FD_NO_FINISH(dir)
}  // namespace fd
#endif
