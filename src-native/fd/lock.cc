// Locks and leases (amber_lock[] in the data of a FILE or DIR descriptor): POSIX record locks
// (F_SETLK, lockf), open file description locks (F_OFD_SETLK), flock(2) locks and leases
// (F_SETLEASE). Not a kind of descriptor but state every file descriptor may carry: the file kinds
// (fd/file.cc, fd/dir.cc) call these.
//
// Capture: the "lock:" lines of the descriptor's fdinfo. The kernel lists there the locks taken
// through this open file description by its owner: for a POSIX lock the owner is the process (so
// a child that inherited the description does not list its parent's), for the others the
// description itself (every process sharing it lists them).
//
// Restore: each lock is taken again, through the same descriptor, by the restored process itself
// (a POSIX lock's owner is the process that takes it) before any of its threads runs, with the
// non-blocking calls (F_SETLK, F_OFD_SETLK, LOCK_NB): a restart never waits for a lock. Taking a
// lock twice through one description (a description shared by a parent and its child) is a
// no-op. Stage 1 first tests every lock against the locks held now (F_GETLK, F_OFD_GETLK, a
// trial flock on a description of our own): when someone outside holds a conflicting lock the
// restart is refused before anything starts, naming the file, the range and the holder. If the
// lock is taken in between, the restart of that process fails in stage 3 with the same message:
// a lock is never silently lost (two writers on one database). Leases cannot be tested without
// breaking them (an open of the file breaks a lease): a lease that cannot be taken again fails the
// restart of its process in stage 3.
//
// A file recreated at restart (deleted, memfd) is new: its locks cannot conflict with anyone.
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include <errno.h>

#include "agent/capture.h"

namespace fd {
namespace {
const char* skip_space(const char* p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}
const char* next_word(const char* p) {
  while (*p && *p != ' ' && *p != '\t' && *p != '\n') p++;
  return skip_space(p);
}
int64_t parse_end(const char** p) {
  if (sys::sstarts(*p, "EOF")) { *p += 3; return -1; }
  return (int64_t)sys::parse_u(p, 10);
}
}  // namespace

// One line: "lock:\t1: POSIX  ADVISORY  WRITE 1234 fe:00:5678 100 199" (fs/locks.c,
// lock_get_status). Words: id, type, qualifier (ADVISORY, or ACTIVE/BREAKING/BREAKER for a
// lease), READ/WRITE/UNLCK, pid, dev:ino, start, end or EOF.
bool parse_lock_line(const char* p, amber_lock* out) {
  amber_lock l{};
  p = next_word(skip_space(p));  // past "1:"
  if (sys::sstarts(p, "POSIX")) l.type = AMBER_LOCK_POSIX;
  else if (sys::sstarts(p, "OFDLCK")) l.type = AMBER_LOCK_OFD;
  else if (sys::sstarts(p, "FLOCK")) l.type = AMBER_LOCK_FLOCK;
  else if (sys::sstarts(p, "LEASE")) l.type = AMBER_LOCK_LEASE;
  else return false;  // ACCESS (a lock being tested), DELEG (NFS server): not the application's
  p = next_word(next_word(p));
  if (sys::sstarts(p, "WRITE")) l.mode = 1;
  else if (sys::sstarts(p, "READ")) l.mode = 0;
  else return false;  // UNLCK: a lease being given up
  p = next_word(next_word(next_word(p)));  // past the mode, pid, dev:ino
  l.start = (int64_t)sys::parse_u(&p, 10);
  p = skip_space(p);
  l.end = parse_end(&p);
  if (l.type == AMBER_LOCK_FLOCK || l.type == AMBER_LOCK_LEASE) l.start = 0, l.end = -1;
  *out = l;
  return true;
}

uint32_t count_lock_lines(const char* info) {
  uint32_t n = 0;
  for (const char* p = info; *p;) {
    if (sys::sstarts(p, "lock:")) n++;
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  return n;
}

void locks_capture(amber::Capture& c, amber_fd& f) {
  uint32_t n = count_lock_lines(c.info);
  if (!n) return;
  auto* out = reinterpret_cast<amber_lock*>(c.str.reserve(n * sizeof(amber_lock)));
  if (!out) return;  // the capture fails: the string space is full
  uint32_t k = 0;
  for (const char* p = c.info; *p && k < n;) {
    amber_lock l;
    if (sys::sstarts(p, "lock:") && parse_lock_line(p + 5, &l)) __builtin_memcpy(&out[k++], &l, sizeof l);  // byte aligned
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  if (k) f.data = c.str.add(reinterpret_cast<const char*>(out), k * sizeof(amber_lock));
}
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace {
constexpr int F_GETLK_ = 5, F_SETLK_ = 6, F_OFD_GETLK_ = 36, F_OFD_SETLK_ = 37, F_SETLEASE_ = 1024;
constexpr int LOCK_SH_ = 1, LOCK_EX_ = 2, LOCK_NB_ = 4, LOCK_UN_ = 8;
constexpr int F_RDLCK_ = 0, F_WRLCK_ = 1, F_UNLCK_ = 2;

struct KFlock {  // struct flock (x86-64)
  int16_t l_type, l_whence;
  int32_t pad;
  int64_t l_start, l_len;
  int32_t l_pid, pad2;
};

KFlock flock_of(const amber_lock& l, int type) {
  KFlock k{};
  k.l_type = (int16_t)type;
  k.l_whence = 0;
  k.l_start = l.start;
  k.l_len = l.end < 0 ? 0 : l.end - l.start + 1;
  return k;
}

bool has_locks(const amber_fd& f) {
  // (a message queue's data is its messages: ipc/mqueue.cc; it takes no locks)
  return (f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR) && f.subkind != AMBER_FILE_MQUEUE &&
         f.data.len >= sizeof(amber_lock);
}

const char* kind_word(const amber_lock& l) {
  switch (l.type) {
    case AMBER_LOCK_POSIX: return l.mode ? "POSIX write lock" : "POSIX read lock";
    case AMBER_LOCK_OFD: return l.mode ? "OFD write lock" : "OFD read lock";
    case AMBER_LOCK_FLOCK: return l.mode ? "exclusive flock" : "shared flock";
    default: return l.mode ? "write lease" : "read lease";
  }
}

// "the POSIX write lock on bytes 100-199 of /path" (+ the holder when known).
void describe(sys::Out& o, const amber_lock& l, const char* path, int32_t holder) {
  o.s("its ").s(kind_word(l));
  if (l.type == AMBER_LOCK_POSIX || l.type == AMBER_LOCK_OFD) {
    o.s(" on bytes ").i(l.start).c('-');
    if (l.end < 0) o.s("EOF");
    else o.i(l.end);
    o.s(" of");
  } else {
    o.s(" on");
  }
  o.c(' ').s(path);
  if (holder > 0) o.s(" (held now by process ").i(holder).c(')');
  else if (holder < 0) o.s(" (held now through another open file description)");
}

[[noreturn]] void refuse(const amber_lock& l, const char* path, int32_t holder, long err) {
  char msg[4400];
  sys::Out o(msg, sizeof msg);
  describe(o, l, path, holder);
  rs::die(rs::EXIT_HOST, "cannot take a lock again, another process holds a conflicting one:", msg, err);
}

// Calls fn(lock) for every lock of f (copied one by one: the string space is only byte aligned).
template <typename F>
void each_lock(const amber_view& v, const amber_fd& f, F fn) {
  const char* d;
  uint32_t len;
  if (!amber_str_at(&v, f.data, &d, &len)) return;
  for (uint32_t at = 0; at + sizeof(amber_lock) <= len; at += sizeof(amber_lock)) {
    amber_lock l;
    memcpy(&l, d + at, sizeof l);
    fn(l);
  }
}
}  // namespace

namespace rs {
// Stage 1: would every lock of image img be granted now? Refuses the restart when not.
void locks_check(int img) {
  const amber_view& v = T.img[img].v;
  char path[4096];
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    // Only files reopened at their path can meet someone else's lock.
    if (!has_locks(f) || f.subkind != AMBER_FILE_PATH || restart_stdio(f, img)) continue;
    str_of(v, f.path, path, sizeof path);
    if (path[0] != '/' || is_deleted(path)) continue;
    // O_NONBLOCK: an open must not wait for a lease to break (it would break it).
    long fd = sys::open(path, sys::O_RDONLY_ | sys::O_NONBLOCK_ | sys::O_NOCTTY_ | sys::O_CLOEXEC_, 0);
    if (fd < 0) continue;  // missing: check_open_files said so; unreadable: stage 3 will tell
    each_lock(v, f, [&](const amber_lock& l) {
      if (l.type == AMBER_LOCK_POSIX || l.type == AMBER_LOCK_OFD) {
        KFlock q = flock_of(l, l.mode ? F_WRLCK_ : F_RDLCK_);
        long r = sys::fcntl((int)fd, l.type == AMBER_LOCK_POSIX ? F_GETLK_ : F_OFD_GETLK_, (long)&q);
        if (r == 0 && q.l_type != F_UNLCK_) refuse(l, path, q.l_pid, 0);
      } else if (l.type == AMBER_LOCK_FLOCK) {
        long r = sys::sc2(sys::NR_flock, fd, (l.mode ? LOCK_EX_ : LOCK_SH_) | LOCK_NB_);
        if (r == -11 /*EWOULDBLOCK*/) refuse(l, path, 0, r);
        if (r == 0) sys::sc2(sys::NR_flock, fd, LOCK_UN_);
      }
    });
    sys::close((int)fd);  // (drops nothing of ours: we held no lock through it)
  }
}

// Stage 3, every descriptor back: the locks, taken by this process through the same descriptors.
void locks_take(Proc& p) {
  const amber_view& v = *p.v;
  char path[4096];
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if (!has_locks(f)) continue;
    each_lock(v, f, [&](const amber_lock& l) {
      long r;
      if (l.type == AMBER_LOCK_POSIX || l.type == AMBER_LOCK_OFD) {
        KFlock q = flock_of(l, l.mode ? F_WRLCK_ : F_RDLCK_);
        r = sys::fcntl(f.fd, l.type == AMBER_LOCK_POSIX ? F_SETLK_ : F_OFD_SETLK_, (long)&q);
      } else if (l.type == AMBER_LOCK_FLOCK) {
        r = sys::sc2(sys::NR_flock, f.fd, (l.mode ? LOCK_EX_ : LOCK_SH_) | LOCK_NB_);
      } else {
        r = sys::fcntl(f.fd, F_SETLEASE_, l.mode ? F_WRLCK_ : F_RDLCK_);
      }
      if (r >= 0) return;
      str_of(v, f.path, path, sizeof path);
      if (r == -11 /*EAGAIN*/ || r == -13 /*EACCES*/) {
        int32_t holder = 0;
        if (l.type == AMBER_LOCK_POSIX || l.type == AMBER_LOCK_OFD) {
          KFlock q = flock_of(l, l.mode ? F_WRLCK_ : F_RDLCK_);
          if (sys::fcntl(f.fd, l.type == AMBER_LOCK_POSIX ? F_GETLK_ : F_OFD_GETLK_, (long)&q) == 0 && q.l_type != F_UNLCK_)
            holder = q.l_pid;
        }
        refuse(l, path, holder, r);
      }
      char msg[4400];
      sys::Out o(msg, sizeof msg);
      describe(o, l, path, 0);
      die(EXIT_HOST, "cannot take a lock again:", msg, r);
    });
  }
}
}  // namespace rs
#endif
