// Pipes and FIFOs (AMBER_FD_PIPE; inode = the pipe, extra = its size, data on a read end = the
// bytes that were in flight; subkind AMBER_PIPE_PACKETS when they were packets, each with its
// length).
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
// reads the saved bytes, then end-of-file.
//
// A FIFO (the record's path is a path, not "pipe:[N]") is opened again at its path when a FIFO is
// still there, before the fork, every descriptor its own description with its access mode (the
// path holds one open for reading and writing meanwhile, so no open waits and the saved bytes can
// be written in first): a process outside that opens the path later still reaches it. One the
// computation only writes to is opened only if someone reads it now (else /dev/null, said). A FIFO
// unlinked while open (a ghost: its path says " (deleted)") is made again in its directory (under
// its old name when that is free, so readlink reads as before), opened the same way and unlinked
// at once: it is still a FIFO with no name (st_nlink 0) that nothing outside can open. A FIFO whose
// path is gone (or a ghost whose directory is) comes back as an anonymous pipe, with a warning.
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
    // Packets (a pipe written through an O_DIRECT end: pipe2(O_DIRECT), a FIFO opened so) keep
    // their boundaries in our copy (tee keeps each buffer's packet flag), and a read of one
    // returns that packet only: a read shorter than what is left is a boundary. Their lengths
    // are kept (AMBER_PIPE_PACKETS) so that the restorer writes them as packets again: else a
    // reader would get them merged into one.
    uint32_t maxp = (uint32_t)((sz > 0 ? sz : 65536) / 4096 + 2);
    auto* lens = static_cast<uint32_t*>(c.a.take(sizeof(uint32_t) * maxp));
    uint32_t np = 0;
    bool packets = false;
    char* dst = c.str.reserve((size_t)n + sizeof(uint32_t) * maxp);
    char* bytes = dst ? dst + sizeof(uint32_t) * maxp : nullptr;  // room for the lengths in front
    long got = 0;
    while (bytes && got < n) {
      long r = sys::read(tp[0], bytes + got, (size_t)(n - got));
      if (r <= 0) break;
      if (r < n - got) packets = true;
      if (lens && np < maxp) lens[np++] = (uint32_t)r;
      else packets = false, lens = nullptr;  // more pieces than buffers: not packets after all
      got += r;
    }
    if (packets && lens) {
      // Laid out as (length, bytes) pairs in the reserved space: from the front, each packet's
      // bytes moved down next to its length (never over bytes not yet moved).
      char* out = dst;
      const char* in = bytes;
      for (uint32_t k = 0; k < np; k++) {
        __builtin_memcpy(out, &lens[k], sizeof(uint32_t));
        __builtin_memmove(out + sizeof(uint32_t), in, lens[k]);
        out += sizeof(uint32_t) + lens[k];
        in += lens[k];
      }
      f.subkind = AMBER_PIPE_PACKETS;
      f.data = c.str.add(dst, (size_t)(out - dst));  // add() copies onto itself: same place
    } else if (bytes) {
      __builtin_memmove(dst, bytes, (size_t)got);
      f.data = c.str.add(dst, (size_t)got);
    }
  }
  sys::close(tp[0]);
  sys::close(tp[1]);
}
bool pipe_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(pipe)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "fd/file.h"
#include "restore/restorer.h"

namespace {
bool is_reader(const amber_fd& f) { return (f.flags & sys::O_ACCMODE_) != sys::O_WRONLY_; }

// The saved bytes into the pipe through its write end w: as one stream, or packet by packet
// (AMBER_PIPE_PACKETS) through the end made O_DIRECT for the while (the saved status flags are put
// back on every descriptor afterwards).
void put_data(int w, const amber_fd& with, const char* d, uint32_t len) {
  if (with.subkind != AMBER_PIPE_PACKETS) {
    sys::write_all(w, d, len);
    return;
  }
  long fl = sys::fcntl(w, 3 /*F_GETFL*/, 0);
  sys::fcntl(w, sys::F_SETFL_, (fl < 0 ? 0 : fl) | 040000 /*O_DIRECT*/);
  for (uint32_t at = 0; at + sizeof(uint32_t) <= len;) {
    uint32_t n;
    __builtin_memcpy(&n, d + at, sizeof n);
    at += sizeof n;
    if (n > len - at) break;  // a damaged record: what is whole was written
    sys::write_all(w, d + at, n);
    at += n;
  }
  if (fl >= 0) sys::fcntl(w, sys::F_SETFL_, fl);
}

// A new pipe (lifted) holding the saved bytes; false when it cannot be made.
bool new_pipe(const amber_fd& sized, const amber_view* data_view, const amber_fd* with_data, int p[2]) {
  if (sys::pipe2(p, sys::O_CLOEXEC_) < 0) return false;
  p[0] = (int)rs::lift(p[0]);
  p[1] = (int)rs::lift(p[1]);
  if (p[1] >= 0 && sized.extra) sys::fcntl(p[1], sys::F_SETPIPE_SZ_, (long)sized.extra);
  const char* d;
  uint32_t len;
  if (with_data && p[1] >= 0 && amber_str_at(data_view, with_data->data, &d, &len)) put_data(p[1], *with_data, d, len);
  return true;
}
}  // namespace

// A ghost FIFO ("<path> (deleted)" in path) made again in its directory: under its old name when
// that is free, else under a name of ours beside it (the caller unlinks it once every descriptor
// is open). path is rewritten to the name made; false when the directory refuses.
static bool remake_ghost_fifo(char* path, size_t cap, const amber_fd& f) {
  size_t n = sys::slen(path) - 10;  // without " (deleted)"
  path[n] = 0;
  long mode = sys::S_IFIFO_ | (f.mode & 07777);
  if (sys::sc4(259 /*mknodat*/, -100, (long)path, mode, 0) == 0) return true;
  // the old name is taken (something else lives there now): a name beside it, by inode and pid
  while (n > 1 && path[n - 1] != '/') n--;
  sys::Out o(path + n, cap - n);
  o.s(".amber-fifo-").u(f.inode).s("-").i(sys::getpid());
  if (o.len >= cap - n) return false;
  path[n + o.len] = 0;
  return sys::sc4(259 /*mknodat*/, -100, (long)path, mode, 0) == 0;
}

// A FIFO at its path again (every ref of one inode, [r, end)); false: not one any more.
static bool reopen_fifo(rs::Ref* r, rs::Ref* end, const amber_view* data_view, const amber_fd* with_data, bool reader) {
  using namespace rs;
  const amber_fd& f0 = fd_of(*r);
  char path[4096];
  str_of(T.img[r->img].v, f0.path, path, sizeof path);
  if (path[0] != '/') return false;  // an anonymous pipe
  size_t plen = sys::slen(path);
  bool ghost = plen > 10 && !__builtin_memcmp(path + plen - 10, " (deleted)", 10);
  if (ghost && !remake_ghost_fifo(path, sizeof path, f0)) {
    str_of(T.img[r->img].v, f0.path, path, sizeof path);
    warn_path(f0, "is a FIFO unlinked while open that cannot be made again in its directory; it comes back as an anonymous pipe", path, 0);
    return false;
  }
  sys::kstat st{};
  if (sys::fstatat(-100, path, &st, 0) < 0 || (st.st_mode & sys::S_IFMT_) != sys::S_IFIFO_) {
    warn_path(f0, "is no FIFO at its path any more; it comes back as an anonymous pipe", path, 0);
    return false;
  }
  // Held open for reading and writing while the descriptors are opened: nothing waits.
  long keep = reader ? sys::open(path, sys::O_RDWR_ | sys::O_NONBLOCK_ | sys::O_CLOEXEC_, 0) : -1;
  if (reader && keep < 0) return false;
  if (keep >= 0 && f0.extra) sys::fcntl((int)keep, sys::F_SETPIPE_SZ_, (long)f0.extra);
  const char* d;
  uint32_t len;
  if (keep >= 0 && with_data && amber_str_at(data_view, with_data->data, &d, &len)) put_data((int)keep, *with_data, d, len);
  for (Ref* e = r; e != end; e++) {
    const amber_fd& f = fd_of(*e);
    if (restart_stdio(f, (int)e->img) || T.img[e->img].prep[e->idx] >= 0) continue;
    int acc = f.flags & sys::O_ACCMODE_;
    // O_NONBLOCK for the open only (a writer finds out now whether anyone reads); the saved
    // status flags are put back with the descriptor.
    long fd = lift(sys::open(path, acc | sys::O_NONBLOCK_ | sys::O_CLOEXEC_, 0));
    if (fd < 0) {
      warn_path(f, fd == -6 /*ENXIO*/ ? "is a FIFO nobody reads now; it becomes /dev/null" : "cannot be opened again; it becomes /dev/null", path, fd == -6 ? 0 : fd);
      fd = devnull(f);
    }
    T.img[e->img].prep[e->idx] = (int32_t)fd;
  }
  if (keep >= 0) sys::close((int)keep);
  if (ghost) sys::unlink(path);  // nameless again, as it was
  return true;
}

namespace fd {
AMBER_FD_NO_CHECK(pipe)

// Pipes shared by several processes of the tree (the index has each pipe's descriptors together),
// and every FIFO.
void pipe_prepare() {
  using namespace rs;
  for (Ref* r = refs_begin(Kind::PIPE); r != refs_end(Kind::PIPE);) {
    Ref* end = r;
    bool several = false, reader = false;
    const amber_fd* with_data = nullptr;
    const amber_view* data_view = nullptr;
    for (; end != refs_end(Kind::PIPE) && end->inode == r->inode; end++) {
      const amber_fd& f = fd_of(*end);
      // (a pipe in flight inside a socket is made here too: the socket's queue carries it)
      several = several || end->img != r->img || (f.fd_flags & AMBER_FD_HIDDEN);
      reader = reader || is_reader(f);
      if (f.data.len && !with_data) { with_data = &f; data_view = &T.img[end->img].v; }
    }
    if (reopen_fifo(r, end, data_view, with_data, reader)) { r = end; continue; }
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
