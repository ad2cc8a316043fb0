// Pipes and FIFOs (AMBER_FD_PIPE; inode = the pipe, extra = its size, data on a read end = the
// bytes that were in flight).
//
// Capture: the pipe's size, and on a descriptor we can read from, the bytes in flight, copied with
// tee(2) into a pipe of our own and read from there: they stay in the application's pipe, and
// nobody reads in the meantime (every thread is parked).
//
// Restore: every descriptor of one saved pipe (one inode) gets an end of one new pipe, which holds
// the bytes that were in flight before anyone runs. A pipe whose descriptors are in several
// processes of the tree (a pipeline, a parent and the child it forked) is made once before the
// fork and inherited; one held by a single process is made by that process. A pipe nobody reads
// from gets /dev/null for its write ends (a write must not raise SIGPIPE); one nobody writes to
// reads the saved bytes, then end-of-file. A FIFO comes back as an anonymous pipe (its path is not
// reopened).
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include <fcntl.h>

#include "agent/capture.h"

namespace fd {
void pipe_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  long sz = sys::fcntl(f.fd, F_GETPIPE_SZ, 0);
  f.extra = sz > 0 ? (uint64_t)sz : 0;
  if ((f.flags & O_ACCMODE) != O_RDONLY && (f.flags & O_ACCMODE) != O_RDWR) return;
  int tp[2];
  if (sys::pipe2(tp, O_CLOEXEC | O_NONBLOCK) < 0) return;
  if (sz > 0) sys::fcntl(tp[1], F_SETPIPE_SZ, sz);
  long n = sys::sc4(sys::NR_tee, f.fd, tp[1], 1 << 20, 2 /*SPLICE_F_NONBLOCK*/);
  if (n > 0) {
    char* dst = c.str.reserve((size_t)n);
    long got = 0;
    while (dst && got < n) {
      long r = sys::read(tp[0], dst + got, (size_t)(n - got));
      if (r <= 0) break;
      got += r;
    }
    if (dst) f.data = c.str.add(dst, (size_t)got);  // add() copies onto itself: same place
  }
  sys::close(tp[0]);
  sys::close(tp[1]);
}
bool pipe_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(pipe)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace {
bool is_reader(const amber_fd& f) { return (f.flags & sys::O_ACCMODE_) != sys::O_WRONLY_; }

// A new pipe (lifted) holding the saved bytes; false when it cannot be made.
bool new_pipe(const amber_fd& sized, const amber_view* data_view, const amber_fd* with_data, int p[2]) {
  if (sys::pipe2(p, sys::O_CLOEXEC_) < 0) return false;
  p[0] = (int)rs::lift(p[0]);
  p[1] = (int)rs::lift(p[1]);
  if (p[1] >= 0 && sized.extra) sys::fcntl(p[1], sys::F_SETPIPE_SZ_, (long)sized.extra);
  const char* d;
  uint32_t len;
  if (with_data && p[1] >= 0 && amber_str_at(data_view, with_data->data, &d, &len)) sys::write_all(p[1], d, len);
  return true;
}
}  // namespace

namespace fd {
AMBER_FD_NO_CHECK(pipe)

// Pipes shared by several processes of the tree: the index has each pipe's descriptors together.
void pipe_prepare() {
  using namespace rs;
  for (Ref* r = refs_begin(Kind::PIPE); r != refs_end(Kind::PIPE);) {
    Ref* end = r;
    bool several = false, reader = false;
    const amber_fd* with_data = nullptr;
    const amber_view* data_view = nullptr;
    for (; end != refs_end(Kind::PIPE) && end->inode == r->inode; end++) {
      const amber_fd& f = fd_of(*end);
      several = several || end->img != r->img;
      reader = reader || is_reader(f);
      if (f.data.len && !with_data) { with_data = &f; data_view = &T.img[end->img].v; }
    }
    // One process's own pipe is made by that process; one nobody reads from becomes /dev/null there.
    int p[2];
    if (several && reader && new_pipe(fd_of(*r), data_view, with_data, p)) {
      for (Ref* e = r; e != end; e++) assign((int)e->img, e->idx, is_reader(fd_of(*e)) ? p[0] : p[1]);
      settle();
    }
    r = end;
  }
}

long pipe_restore(rs::Proc& p, uint32_t i) {
  using namespace rs;
  const amber_view& v = *p.v;
  const amber_fd& f0 = v.fds[i];
  bool has_reader = false;
  const amber_fd* with_data = nullptr;
  for (uint32_t k = i; k < v.nfds; k++) {
    const amber_fd& f = v.fds[k];
    if (f.kind != AMBER_FD_PIPE || f.inode != f0.inode || restart_stdio(f, p.img) || p.prep[k] >= 0) continue;
    if (is_reader(f)) has_reader = true;
    if (f.data.len && !with_data) with_data = &f;
  }
  int fds[2] = {-1, -1};
  if (has_reader && !new_pipe(f0, &v, with_data, fds)) fds[0] = fds[1] = -1;
  for (uint32_t k = i; k < v.nfds; k++) {
    const amber_fd& f = v.fds[k];
    if (f.kind != AMBER_FD_PIPE || f.inode != f0.inode || restart_stdio(f, p.img) || p.prep[k] >= 0) continue;
    p.done[k] = true;
    if (!has_reader) { put_back(devnull(f), f); continue; }
    int end = is_reader(f) ? fds[0] : fds[1];
    put_back(end >= 0 ? sys::fcntl(end, sys::F_DUPFD_CLOEXEC_, T.maxfd + 1) : devnull(f), f);
  }
  if (fds[0] >= 0) sys::close(fds[0]);
  if (fds[1] >= 0) sys::close(fds[1]);
  return PLACED;
}
AMBER_FD_NO_FINISH(pipe)
}  // namespace fd
#endif
