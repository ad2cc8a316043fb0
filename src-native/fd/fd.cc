// The descriptor table: the dispatcher between a process's descriptors and the kinds of fd/ops.h.
//
// Agent half: list /proc/self/fd once, fill the fields every record has (path, stat, status flags
// and offset from fdinfo, descriptor flags), decide the kind, let the kind add its state; then
// name what the restart cannot rebuild (`unrestorable` in the `written` reply).
//
// Restorer half, in three steps:
//  1. stage 1 (per image, nothing started): every kind checks its descriptors can be rebuilt here;
//  2. before the fork (the whole tree): an index of every saved descriptor by (kind, inode), the
//     connections passed in by restart (--sockfd), then every kind's prepare makes the objects
//     several processes share (pipes, socket pairs, ptys, shared file descriptions), once;
//  3. in each restored process (stage 3): every saved number gets its prepared object, or the
//     kind makes it, or /dev/null; then every kind's finish; then close what the process never had.
// The restart's own stdin/stdout/stderr stand in for those the root inherited (DESIGN: restart
// runs in the foreground), which is a policy of this table rather than of any kind.
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"
#include "fd/socket.h"
#include "fd/stdio.h"

namespace amber {

char g_unrestorable[2048];
char g_limits[2048];

namespace {

// The kind of a live descriptor (its record has only the common fields yet).
fd::Kind classify(int fd, const amber_fd& f, const sys::kstat& st, const char* target) {
  if (f.kind == AMBER_FD_ANON) {
    if (sys::sstarts(target, "anon_inode:[eventfd]")) return fd::Kind::EVENTFD;
    if (sys::sstarts(target, "anon_inode:[eventpoll]")) return fd::Kind::EPOLL;
    if (sys::sstarts(target, "anon_inode:[timerfd]")) return fd::Kind::TIMERFD;
    if (sys::sstarts(target, "anon_inode:[signalfd]")) return fd::Kind::SIGNALFD;
    if (sys::sstarts(target, "anon_inode:[pidfd]")) return fd::Kind::PIDFD;
    if (sys::sstarts(target, "anon_inode:inotify")) return fd::Kind::INOTIFY;
    if (sys::sstarts(target, "anon_inode:[fanotify]")) return fd::Kind::FANOTIFY;
    if (sys::sstarts(target, "anon_inode:[userfaultfd]")) return fd::Kind::UFFD;
    return fd::Kind::OTHER;
  }
  switch (f.kind) {
    case AMBER_FD_FILE: {
      // A POSIX message queue is a regular file of the mqueue filesystem (ipc/mqueue.cc).
      uint64_t sfs[15] = {0};  // struct statfs: f_type first
      if (sys::sc2(138 /*fstatfs*/, fd, (long)sfs) == 0 && sfs[0] == 0x19800202 /*MQUEUE_MAGIC*/) return fd::Kind::MQUEUE;
      return fd::Kind::FILE;
    }
    case AMBER_FD_DIR: return fd::Kind::DIR;
    case AMBER_FD_PIPE: return fd::Kind::PIPE;
    case AMBER_FD_CHR: {
      uint32_t major = (uint32_t)((st.st_rdev >> 8) & 0xfff);
      uint32_t minor = (uint32_t)((st.st_rdev & 0xff) | ((st.st_rdev >> 12) & 0xfff00));
      bool pty = (major >= 136 && major <= 143) /*UNIX98_PTY_SLAVE_MAJOR .. + 7*/ || (major == 5 && minor == 2) /*ptmx*/;
      return pty ? fd::Kind::PTY : fd::Kind::CHR;
    }
    case AMBER_FD_SOCKET: {
      int v = 0;
      uint32_t vl = sizeof v;
      if (sys::getsockopt(fd, 1 /*SOL_SOCKET*/, 39 /*SO_DOMAIN*/, &v, &vl) < 0) return fd::Kind::OTHER;
      if (v == 1) return fd::Kind::UNIX;
      if (v == 2 || v == 10) return fd::Kind::INET;
      if (v == 16) return fd::Kind::NETLINK;
      return fd::Kind::OTHER;
    }
    default: return fd::Kind::OTHER;
  }
}

void capture_kind(fd::Kind k, Capture& c, amber_fd& f, const sys::kstat& st) {
  switch (k) {
#define AMBER_FD_CAPTURE(K, name, what) case fd::Kind::K: fd::name##_capture(c, f, st); return;
    AMBER_FD_KINDS(AMBER_FD_CAPTURE)
#undef AMBER_FD_CAPTURE
  }
}

bool restorable_kind(fd::Kind k, const Capture& c, const amber_fd& f) {
  switch (k) {
#define AMBER_FD_RESTORABLE(K, name, what) case fd::Kind::K: return fd::name##_restorable(c, f);
    AMBER_FD_KINDS(AMBER_FD_RESTORABLE)
#undef AMBER_FD_RESTORABLE
  }
  return false;
}

const char* skip_space(const char* p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

// Every descriptor number, listed before anything is captured: capturing opens descriptors of
// our own for a moment (tee pipes, a pty's peer, the sock_diag socket), and a listing read while
// they exist could take one of them for the application's.
int32_t* list_fds(Capture& c, uint32_t* n_out) {
  long dfd = sys::open("/proc/thread-self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) { c.fail(dfd, "cannot list /proc/self/fd"); return nullptr; }
  constexpr size_t kBuf = 64 * 1024;
  char* dbuf = static_cast<char*>(c.a.take(kBuf));
  uint32_t n = 0;
  for (int pass = 0; pass < 2 && dbuf; pass++) {
    // pass 0 counts, pass 1 fills a table of exactly that size
    int32_t* out = pass ? reinterpret_cast<int32_t*>(c.a.take(sizeof(int32_t) * (n ? n : 1))) : nullptr;
    if (pass && !out) break;
    uint32_t k = 0;
    if (pass) sys::lseek((int)dfd, 0, 0 /*SEEK_SET*/);
    for (;;) {
      long r = sys::getdents64((int)dfd, dbuf, kBuf);
      if (r <= 0) break;
      for (long off = 0; off < r;) {
        const char* rec = dbuf + off;
        off += *reinterpret_cast<const uint16_t*>(rec + 16);
        const char* name = rec + 19;
        if (name[0] < '0' || name[0] > '9') continue;
        const char* q = name;
        int32_t fd = (int32_t)sys::parse_u(&q, 10);
        if (fd == (int32_t)dfd) continue;
        if (pass && k < n) out[k] = fd;
        k++;
      }
    }
    if (!pass) { n = k; continue; }
    sys::close((int)dfd);
    if (k != n) { c.fail(-EAGAIN, "the descriptor table changed while the process was frozen"); return nullptr; }
    *n_out = n;
    return out;
  }
  sys::close((int)dfd);
  c.fail(-ENOMEM, "scratch exhausted listing descriptors");
  return nullptr;
}

}  // namespace

char* Capture::read_all(const char* path, size_t* len_out) {
  // Into the free end of the arena, not taken: valid until the next take().
  char* buf = a.base + ((a.used + 63) & ~size_t(63));
  size_t room = a.cap > (size_t)(buf - a.base) ? a.cap - (size_t)(buf - a.base) : 0;
  if (room < 2) { fail(-ENOMEM, "scratch exhausted reading ", path); return nullptr; }
  size_t n = sys::read_file(path, buf, room - 1);
  if (n >= room - 1) { fail(-E2BIG, "the agent's scratch cannot hold ", path); return nullptr; }
  buf[n] = 0;
  if (len_out) *len_out = n;
  return buf;
}

void Capture::limit(const amber_fd& f, const char* what) {
  size_t at = sys::slen(g_limits);
  if (at > 1200) return;  // the reply line must stay whole; the first ones are named
  sys::Out o(g_limits + at, sizeof g_limits - at);
  if (at) o.c(',');
  o.s("\"fd ").i(f.fd).s(" (").j(str.buf + f.path.off, f.path.len).s(") ").j(what, sys::slen(what)).c('"');
}

namespace {
// One live descriptor into f: the fields every record has, then its kind's state.
void capture_one(Capture& c, int fd, amber_fd& f) {
  memset(&f, 0, sizeof f);
  f.fd = fd;
  char* target = c.tmp;
  long l = sys::fd_link(fd, target, 4096);
  f.path = c.str.add(target, l > 0 ? (size_t)l : 0);
  sys::kstat st{};
  sys::fstat(fd, &st);
  f.mode = st.st_mode;
  f.dev = st.st_dev;
  f.inode = st.st_ino;
  f.size = (uint64_t)st.st_size;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: f.kind = AMBER_FD_FILE; break;
    case S_IFLNK: f.kind = AMBER_FD_FILE; break;  // a symlink itself (O_PATH|O_NOFOLLOW): reopened so
    case S_IFDIR: f.kind = AMBER_FD_DIR; break;
    case S_IFCHR: f.kind = AMBER_FD_CHR; break;
    case S_IFIFO: f.kind = AMBER_FD_PIPE; break;
    case S_IFSOCK: f.kind = AMBER_FD_SOCKET; break;
    default: f.kind = AMBER_FD_OTHER;
  }
  if (l > 11 && sys::sstarts(target, "anon_inode:")) f.kind = AMBER_FD_ANON;
  if (fd == g.coord_fd || fd == g.image_fd1 - 1 || conn_in_flight(fd)) f.kind = AMBER_FD_AGENT;
  char lp[64];
  sys::Out(lp, sizeof lp).s("/proc/thread-self/fdinfo/").i(fd);
  c.info = c.read_all(lp, &c.info_len);
  if (!c.info) return;
  long fdfl = sys::fcntl(fd, F_GETFD, 0);
  f.fd_flags = fdfl > 0 ? (uint32_t)fdfl : 0;
  // What every descriptor's fdinfo says: the offset and the open(2) status flags.
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "pos:")) { p = skip_space(p + 4); f.pos = sys::parse_u(&p, 10); }
    else if (sys::sstarts(p, "flags:")) { p = skip_space(p + 6); f.flags = (int32_t)sys::parse_u(&p, 8); }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  if (f.kind == AMBER_FD_AGENT) return;  // the agent's own: not restored
  fd::Kind kind = classify(fd, f, st, target);
  capture_kind(kind, c, f, st);
  fd::owner_capture(c, f);
  if (kind == fd::Kind::DIR) fd::dnotify_capture(c, f, st);
  if (kind != fd::Kind::FILE && kind != fd::Kind::DIR && fd::count_lock_lines(c.info))
    c.limit(f, "holds a lock through a descriptor that is not a file or directory: the lock is not taken again at restart");
}

}  // namespace

long fds_capture(Capture& c) {
  g_limits[0] = 0;
  fd::owners_begin();
  pid::peercred_begin();
  uint32_t n = 0;
  int32_t* list = list_fds(c, &n);
  if (!list) return c.failed;
  c.cap_fds = n ? n : 1;
  c.fds = static_cast<amber_fd*>(c.a.take(sizeof(amber_fd) * c.cap_fds));
  c.fdlist = list;
  c.nfdlist = n;
  if (!c.fds) return c.fail(-ENOMEM, "scratch exhausted: too many descriptors for the agent's scratch");
  c.nfds = 0;
  for (uint32_t k = 0; k < n && !c.failed; k++) {
    amber_fd& f = c.fds[c.nfds++];
    capture_one(c, list[k], f);
    // The launcher's stdio, by identity (fd/stdio.cc): the restart's own takes its place.
    if (int j = stdio_mark(f); j >= 0 && f.kind != AMBER_FD_AGENT) f.fd_flags |= (uint32_t)(j + 1) << AMBER_FD_STDIO_SHIFT;
  }
  // Descriptors in no table that the table's sockets hold (in flight, pending): after it, as
  // hidden records (fd/socket.cc); always called, to close what capturing opened.
  fd::sockets_capture_hidden(c, capture_one);
  if (c.diag_fd > 0) sys::close(c.diag_fd);
  c.diag_fd = 0;
  if (!c.failed && c.str.full) return c.fail(-E2BIG, "descriptor data does not fit the image's string space");
  return c.failed;
}

// What the restart cannot rebuild: it gives those numbers /dev/null. Said now, at checkpoint.
void fds_note_unrestorable(const Capture& c) {
  sys::Out o(g_unrestorable, sizeof g_unrestorable);
  for (uint32_t i = 0; i < c.nfds; i++) {
    const amber_fd& f = c.fds[i];
    bool hidden = (f.fd_flags & AMBER_FD_HIDDEN) != 0;
    if (f.fd <= 2 || f.kind == AMBER_FD_AGENT) continue;
    const char* d = f.data.len ? c.str.buf + f.data.off : nullptr;
    fd::Kind k = fd::kind_of(f, d, f.data.len);
    if (hidden && k != fd::Kind::UNIX && k != fd::Kind::INET) continue;  // (said by what carries it)
    if (restorable_kind(k, c, f)) continue;
    if (o.len > 1200) { o.s(",\"...\""); break; }  // the reply line must stay whole
    if (o.len) o.c(',');
    // A socket in no table (in flight, pending) is named by its inode alone.
    if (hidden) o.s("\"in flight ");
    else o.s("\"fd ").i(f.fd).c(' ');
    o.j(c.str.buf + f.path.off, f.path.len);
    // A socket says what it loses and what it is at restart (it never becomes /dev/null).
    const char* why = (k == fd::Kind::UNIX || k == fd::Kind::INET) ? fd::socket_reason(c, f) : nullptr;
    if (why) o.s(": ").j(why, sys::slen(why));
    o.c('"');
  }
}

void fds_resumed() {
#define AMBER_FD_RESUMED(K, name, what) fd::name##_resumed();
  AMBER_FD_KINDS(AMBER_FD_RESUMED)
#undef AMBER_FD_RESUMED
}

}  // namespace amber
#endif  // AMBER_AGENT

#ifdef AMBER_RESTORER
#include "fd/socket.h"
#include "restore/restorer.h"
#include "fd/stdio.h"

namespace rs {
namespace {

fd::Kind kind_at(const amber_view& v, const amber_fd& f) {
  const char* d = nullptr;
  uint32_t len = 0;
  if (f.data.len && !amber_str_at(&v, f.data, &d, &len)) d = nullptr;
  return fd::kind_of(f, d, len);
}

void check_kind(fd::Kind k, int img) {
  switch (k) {
#define AMBER_FD_CHECK(K, name, what) case fd::Kind::K: fd::name##_check(img); return;
    AMBER_FD_KINDS(AMBER_FD_CHECK)
#undef AMBER_FD_CHECK
  }
}

long restore_kind(fd::Kind k, Proc& p, uint32_t i) {
  switch (k) {
#define AMBER_FD_RESTORE(K, name, what) case fd::Kind::K: return fd::name##_restore(p, i);
    AMBER_FD_KINDS(AMBER_FD_RESTORE)
#undef AMBER_FD_RESTORE
  }
  return -22;
}

bool ref_less(const Ref& a, const Ref& b) {
  if (a.kind != b.kind) return a.kind < b.kind;
  if (a.inode != b.inode) return a.inode < b.inode;
  if (a.img != b.img) return a.img < b.img;
  return a.idx < b.idx;
}

}  // namespace

long lift(long fd) {
  if (fd < 0 || fd > T.maxfd) return fd;
  long hi = sys::fcntl((int)fd, sys::F_DUPFD_CLOEXEC_, T.maxfd + 1);
  sys::close((int)fd);
  if (hi == -24 /*EMFILE*/ || hi == -22 /*EINVAL: above RLIMIT_NOFILE*/) {
    uint64_t lim[2] = {0, 0};
    sys::prlimit(0, sys::RLIMIT_NOFILE_, nullptr, lim);
    char msg[160];
    sys::Out(msg, sizeof msg).s("(RLIMIT_NOFILE ").u(lim[0]).s("; the tree's highest saved descriptor is ").i(T.maxfd).s(")");
    die(EXIT_HOST, "out of descriptor numbers rebuilding the tree's descriptors", msg);
  }
  return hi;
}

// The status flags F_SETFL can change (fs/fcntl.c SETFL_MASK): every one of them is put back as
// it was, whatever the kind (O_DIRECT and O_NOATIME included; an O_PATH descriptor has none).
constexpr int kSetfl = sys::O_APPEND_ | sys::O_NONBLOCK_ | sys::O_ASYNC_ | 040000 /*O_DIRECT*/ | 01000000 /*O_NOATIME*/;

// The restart's own stdio (fd/stdio.cc) is the user's file as the user opened it now: `amber
// restart >> log` must append to log whatever the launch's stdout was, and a file opened with `>`
// must not gain O_APPEND. Only what the program set for its own reads and writes comes back on it:
// O_NONBLOCK (an event loop that set it would block in read otherwise) and O_ASYNC.
constexpr int kSetflStdio = sys::O_NONBLOCK_ | sys::O_ASYNC_;

void set_status_flags(int fd, const amber_fd& f, int mask) {
  if (f.flags & 010000000 /*O_PATH*/) return;
  long now = sys::fcntl(fd, 3 /*F_GETFL*/, 0);
  if (now < 0 || (now & mask) == (f.flags & mask)) return;
  long r = sys::fcntl(fd, sys::F_SETFL_, (now & ~mask) | (f.flags & mask));
  if (r < 0) warn_fd("cannot set its status flags back (O_DIRECT, O_NOATIME or O_ASYNC refused here)", f, r, "it keeps the others");
}

void assign(int img, uint32_t idx, long fd) {
  if (T.img[img].prep[idx] < 0) T.pending[T.npending++] = T.rec_base[img] + idx;
  T.img[img].prep[idx] = (int32_t)fd;
}

namespace {
int32_t& prep_of(uint32_t rec) { return T.img[T.rec_img[rec]].prep[rec - T.rec_base[T.rec_img[rec]]]; }
int32_t number_of(uint32_t rec) { return T.img[T.rec_img[rec]].v.fds[rec - T.rec_base[T.rec_img[rec]]].fd; }
uint32_t flags_of(uint32_t rec) { return T.img[T.rec_img[rec]].v.fds[rec - T.rec_base[T.rec_img[rec]]].fd_flags; }

// Every record saved at number n, in every image, is the object at fd.
bool only(int32_t n, int32_t fd) {
  for (int32_t r = T.at_head[n]; r >= 0; r = T.at_next[r])
    if (prep_of((uint32_t)r) != fd) return false;
  return true;
}
}  // namespace

void settle() {
  for (uint32_t a = 0; a < T.npending; a++) {
    int32_t fd = prep_of(T.pending[a]);
    if (fd <= T.maxfd) continue;  // settled already (or never lifted)
    int32_t best = -1;
    for (uint32_t b = a; b < T.npending; b++) {
      int32_t n = number_of(T.pending[b]);
      if (prep_of(T.pending[b]) == fd && n > 2 && n <= T.maxfd && !(flags_of(T.pending[b]) & AMBER_FD_HIDDEN) &&
          (best < 0 || n < best) && only(n, fd))
        best = n;
    }
    // Only onto a free number: one the restorer itself still holds (a keeper made in stage 1) stays its.
    if (best < 0 || sys::fcntl(best, 1 /*F_GETFD*/, 0) != -9 /*EBADF*/ || sys::dup3(fd, best, sys::O_CLOEXEC_) < 0) continue;
    sys::close(fd);
    for (uint32_t b = a; b < T.npending; b++)
      if (prep_of(T.pending[b]) == fd) prep_of(T.pending[b]) = best;
  }
  T.npending = 0;
}

bool put_back(long fd, const amber_fd& f, bool restart_stdio) {
  if (fd < 0) return false;
  sys::dup3((int)fd, f.fd, (f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0);
  set_status_flags(f.fd, f, restart_stdio ? kSetflStdio : kSetfl);
  sys::close((int)fd);
  return true;
}

long devnull(const amber_fd& f) {
  // The saved access mode (F_GETFL reads back O_WRONLY for a write end, as before).
  int acc = f.flags & sys::O_ACCMODE_;
  return lift(sys::open("/dev/null", acc == sys::O_ACCMODE_ ? sys::O_RDWR_ : acc, 0));
}

int find_fd(int img, int32_t fd) {
  const amber_view& v = T.img[img].v;
  if (T.img[img].fds_sorted) {
    uint32_t lo = 0, hi = v.nfds;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (v.fds[mid].fd < fd) lo = mid + 1;
      else hi = mid;
    }
    return lo < v.nfds && v.fds[lo].fd == fd && !(v.fds[lo].fd_flags & AMBER_FD_HIDDEN) ? (int)lo : -1;
  }
  for (uint32_t i = 0; i < v.nfds; i++) if (v.fds[i].fd == fd && !(v.fds[i].fd_flags & AMBER_FD_HIDDEN)) return (int)i;
  return -1;
}

long restore_for_message(int img, uint32_t idx) {
  int32_t& prep = T.img[img].prep[idx];
  if (prep >= 0) return prep;
  // Made now, before the fork, as its process would have made it; a table descriptor that is
  // also in flight keeps this object (one open file description, as it was).
  const amber_view& v = T.img[img].v;
  const amber_fd& f = v.fds[idx];
  if (f.kind == AMBER_FD_AGENT) return -1;
  bool* done = alloc_n<bool>(v.nfds ? v.nfds : 1);
  Proc p{&v, T.img[img].prep, done, img};
  long fd = restore_kind(kind_at(v, f), p, idx);
  if (fd < 0) return -1;  // (PLACED included: such kinds are prepared before the fork)
  prep = (int32_t)fd;
  return fd;
}

void fds_check(int img) {
  const amber_view& v = T.img[img].v;
  bool seen[fd::kKinds] = {};
  for (uint32_t i = 0; i < v.nfds; i++) {
    if (v.fds[i].kind == AMBER_FD_AGENT) continue;
    fd::Kind k = kind_at(v, v.fds[i]);
    if (!seen[(int)k]) { seen[(int)k] = true; check_kind(k, img); }
  }
  locks_check(img);  // locks of files and directories alike (fd/lock.cc)
}

void fds_index() {
  stdio_index();
  uint64_t total = 0;
  for (int k = 0; k < T.n; k++) {
    const amber_view& v = T.img[k].v;
    total += v.nfds;
    T.img[k].prep = alloc_n<int32_t>(v.nfds ? v.nfds : 1);
    T.img[k].fds_sorted = true;
    for (uint32_t i = 0; i < v.nfds; i++) {
      T.img[k].prep[i] = -1;
      if (v.fds[i].fd_flags & AMBER_FD_HIDDEN) continue;  // a number of no table
      if (v.fds[i].fd > T.maxfd) T.maxfd = v.fds[i].fd;
      if (i && v.fds[i].fd <= v.fds[i - 1].fd) T.img[k].fds_sorted = false;
    }
  }
  // Records by descriptor number, for settle().
  T.rec_base = alloc_n<uint32_t>(T.n);
  T.rec_img = alloc_n<uint32_t>(total ? total : 1);
  T.at_next = alloc_n<int32_t>(total ? total : 1);
  T.pending = alloc_n<uint32_t>(total ? total : 1);
  T.at_head = alloc_n<int32_t>((uint64_t)T.maxfd + 1);
  for (int n = 0; n <= T.maxfd; n++) T.at_head[n] = -1;
  uint32_t g = 0;
  for (int k = 0; k < T.n; k++) {
    T.rec_base[k] = g;
    const amber_view& v = T.img[k].v;
    for (uint32_t i = 0; i < v.nfds; i++, g++) {
      T.rec_img[g] = (uint32_t)k;
      T.at_next[g] = -1;
      // A hidden descriptor (in flight) is at no number: it has no place to settle at.
      if (v.fds[i].fd_flags & AMBER_FD_HIDDEN) continue;
      T.at_next[g] = T.at_head[v.fds[i].fd];
      T.at_head[v.fds[i].fd] = (int32_t)g;
    }
  }
  T.refs = alloc_n<Ref>(total ? total : 1);
  T.nrefs = 0;
  for (int k = 0; k < T.n; k++) {
    const amber_view& v = T.img[k].v;
    for (uint32_t i = 0; i < v.nfds; i++) {
      const amber_fd& f = v.fds[i];
      if (f.kind == AMBER_FD_AGENT || restart_stdio(f, k)) continue;
      T.refs[T.nrefs++] = Ref{f.inode, (uint32_t)k, i, kind_at(v, f)};
    }
  }
  sort(T.refs, T.nrefs, ref_less);
  uint32_t at = 0;
  for (int k = 0; k <= fd::kKinds; k++) {
    while (at < T.nrefs && (int)T.refs[at].kind < k) at++;
    T.kind_at[k] = at;
  }
  T.kind_at[fd::kKinds] = T.nrefs;
}

void fds_prepare() {
  // The restorer needs numbers above every saved one for what it makes before the fork: take
  // the hard limit now, and refuse at once if even the saved numbers do not fit under it.
  uint64_t lim[2] = {0, 0};
  sys::prlimit(0, sys::RLIMIT_NOFILE_, nullptr, lim);
  if (lim[0] < lim[1]) {
    uint64_t raised[2] = {lim[1], lim[1]};
    if (sys::prlimit(0, sys::RLIMIT_NOFILE_, raised, nullptr) == 0) lim[0] = lim[1];
  }
  if ((uint64_t)T.maxfd + 64 > lim[0]) {
    char msg[160];
    sys::Out(msg, sizeof msg).s("(RLIMIT_NOFILE ").u(lim[0]).s(" here; the process had descriptor ").i(T.maxfd).s(")");
    die(EXIT_HOST, "too many descriptors for this host's limit", msg);
  }
  // Connections to another tree, made by restart and inherited (lib/sockets.ts).
  for (uint32_t i = 0; i < T.npassed; i++) {
    const PassedSock& ps = T.passed[i];
    int idx = ps.img < T.n ? find_fd(ps.img, ps.fd) : -1;
    long l = lift(ps.nfd);
    if (idx >= 0 && T.img[ps.img].prep[idx] < 0) assign(ps.img, (uint32_t)idx, l);
  }
  settle();
#define AMBER_FD_PREPARE(K, name, what) fd::name##_prepare();
  AMBER_FD_KINDS(AMBER_FD_PREPARE)
#undef AMBER_FD_PREPARE
  // Socket queues, once every object they may carry (SCM_RIGHTS) can be made (fd/socket.cc).
  sockets_fill();
  stdio_lift();
}

void fds_restore(Proc& p) {
  const amber_view& v = *p.v;
  for (uint32_t i = 0; i < v.nfds; i++) p.done[i] = false;
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    // Hidden: in flight or pending when saved; it came back inside its socket, at no number.
    if (p.done[i] || f.kind == AMBER_FD_AGENT || (f.fd_flags & AMBER_FD_HIDDEN)) continue;
    p.done[i] = true;
    long fd;
    int j = restart_stdio_index(f, p.img);
    if (j >= 0) {
      // The launcher's stdio j (fd/stdio.cc): the restart's own, or /dev/null if it had none.
      int r = restart_stdio_fd(j);
      fd = r >= 0 ? sys::fcntl(r, sys::F_DUPFD_CLOEXEC_, T.maxfd + 1) : -9 /*EBADF*/;
    } else if (p.prep[i] == f.fd) {  // made before the fork and already at its number (settle)
      sys::fcntl(f.fd, 2 /*F_SETFD*/, (f.fd_flags & 1) ? 1 /*FD_CLOEXEC*/ : 0);
      set_status_flags(f.fd, f, kSetfl);
      continue;
    } else if (p.prep[i] >= 0) {
      fd = sys::fcntl(p.prep[i], sys::F_DUPFD_CLOEXEC_, T.maxfd + 1);
    } else {
      fd = restore_kind(kind_at(v, f), p, i);
    }
    if (fd == fd::PLACED) continue;
    // What amber cannot rebuild keeps its number, as /dev/null: the application sees end-of-file
    // rather than crashing or reusing the number by accident.
    if (fd < 0) fd = devnull(f);
    put_back(fd, f, j >= 0 && restart_stdio_fd(j) >= 0);
  }
#define AMBER_FD_FINISH(K, name, what) fd::name##_finish(p);
  AMBER_FD_KINDS(AMBER_FD_FINISH)
#undef AMBER_FD_FINISH
}

// After the fork, every process of the tree exists with its new kernel pid: what names a process
// by its pid (/proc/<pid>/... files and directories, pidfds) is opened now, by each process for
// its own image, and kept with the prepared descriptors (stage 2 copies them into the blob).
void fds_forked() {
  files_forked(T.me);
  pidfds_forked(T.me);
}

// Last, once no descriptor will be closed any more (closing any descriptor of a file drops the
// process's POSIX locks on it, and close_strays closes the tree's prepared ones): the locks.
void fds_locks(Proc& p) {
  locks_take(p);
  mqueue_notify_again(p);  // (the owner's close of a queue drops its registration too)
}

// Descriptors we inherited that the process did not have (the tree's prepared objects, other
// images, the restart's own), closed by ranges between the saved numbers.
void close_strays() {
  const amber_view& v = S.v;
  int32_t* nums = reinterpret_cast<int32_t*>(S.blob + S.maps_at);  // scratch: the maps buffer is free now
  uint32_t n = 0;
  // An image that knows the launcher's stdio by identity says exactly which of 0-2 the process
  // had: the others were closed (or never opened) by the program. Older images: 0-2 are kept.
  const bool all = stdio_known_me();
  for (uint32_t i = 0; i < v.nfds; i++)
    if (v.fds[i].kind != AMBER_FD_AGENT && (all || v.fds[i].fd > 2) && !(v.fds[i].fd_flags & AMBER_FD_HIDDEN)) nums[n++] = v.fds[i].fd;
  nums[n++] = S.imgfd;  // closed by the caller once the threads are created
  if (S.coord_fd1) nums[n++] = S.coord_fd1 - 1;  // the agent's (proc/creds.cc)
  sort(nums, n, [](int32_t a, int32_t b) { return a < b; });
  uint32_t from = all ? 0 : 3;
  for (uint32_t i = 0; i < n; i++) {
    if ((uint32_t)nums[i] > from) sys::close_range(from, (uint32_t)nums[i] - 1);
    if ((uint32_t)nums[i] + 1 > from) from = (uint32_t)nums[i] + 1;
  }
  sys::close_range(from, ~0u);
}

}  // namespace rs
#endif  // AMBER_RESTORER
