// Regular files (AMBER_FD_FILE; subkind AMBER_FILE_*): what the descriptor names decides how it
// comes back.
//
//  PATH     reopened at its path with the saved status flags and offset (a symlink held with
//           O_PATH|O_NOFOLLOW too: its flags say so). Stage 1 refuses a file that is missing; a
//           file replaced since (another inode at the path) is reopened with a warning.
//  DELETED  unlinked while open (readlink says " (deleted)"): nothing at the path holds its bytes,
//           so the capture saves them in the image (FILEDATA: the data extents SEEK_DATA/SEEK_HOLE
//           find, holes stay holes) and the restart makes the file again before the fork: created
//           under its old name in its old directory when that name is free (so readlink shows the
//           same), else O_TMPFILE there, and unlinked at once; same size, bytes, holes and mode.
//           One unlinked there but still linked under another name in the same directory (a hard
//           link made first) is that file: PATH at that name. Elsewhere: a private copy, said.
//  MEMFD    a memfd_create file: made again with memfd_create under the same name, with its bytes,
//           size and mode, and its seals added after the bytes (F_ADD_SEALS).
//  PROC     a file under /proc/<pid>/ (including /proc/self, which readlink resolves): when <pid>
//           is a process of the restored tree, the same file of its new kernel pid, opened once
//           the tree is forked (fd/fd.cc fds_forked); another process's is reopened as it is, if
//           it still exists. Never refused in stage 1: a /proc name cannot outlive its process.
//  NSFS     a namespace file (/proc/self/ns/net opened: readlink says "net:[4026531840]"): the
//           restored process's own namespace of that type; a warning when it is another one.
//
// DELETED and MEMFD files shared by several descriptors or processes are one file again, and the
// descriptors that were one open file description (the --share groups the coordinator found with
// kcmp) are one description again; the others each get their own, with their own offset.
// A memfd or deleted file that is also mapped MAP_SHARED is mapped from the new file again
// (file_finish), so that writes through the mapping and through the descriptor still meet.
//
// Locks and leases held through the descriptor are in its data (fd/lock.cc).
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "image/validate.h"  // the checksum of the saved bytes, as the restorer computes it
#include "pid/pid.h"

namespace fd {
namespace {
bool ends_with(const char* s, uint32_t n, const char* suf) {
  uint32_t m = (uint32_t)sys::slen(suf);
  return n >= m && !__builtin_memcmp(s + n - m, suf, m);
}

// "net:[4026531840]": a namespace file (nsfs names its files so; they are never real paths).
bool nsfs_name(const char* s, uint32_t n) {
  uint32_t i = 0;
  while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_')) i++;
  if (!i || i + 3 > n || s[i] != ':' || s[i + 1] != '[' || s[n - 1] != ']') return false;
  for (uint32_t k = i + 2; k < n - 1; k++)
    if (s[k] < '0' || s[k] > '9') return false;
  return true;
}

// A file unlinked at the path it was opened with that still has a name (st_nlink > 0: a hard link
// made before the unlink): its other name in the same directory (the usual case: "link new, unlink
// old"), so that the restart reopens that very file rather than a private copy that nothing else
// sees. Looked for among the directory's first 65536 entries (the process is frozen meanwhile);
// {0, 0} when not there (elsewhere on the filesystem: a stated limit).
amber_str other_name(amber::Capture& c, const char* path, uint32_t n, const sys::kstat& st) {
  constexpr uint32_t kDel = 10;  // " (deleted)"
  char* dir = c.tmp;             // the directory's path, then "/<name>"
  char* dents = c.tmp + 4096;
  uint32_t d = n - kDel;
  while (d > 0 && path[d - 1] != '/') d--;
  if (d == 0 || d + 256 >= 4096) return amber_str{0, 0};
  __builtin_memcpy(dir, path, d);  // with its trailing '/'
  dir[d] = 0;
  long fd = sys::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return amber_str{0, 0};
  amber_str found{0, 0};
  uint32_t seen = 0;
  for (long got; found.len == 0 && seen < 65536 && (got = sys::getdents64((int)fd, dents, 4096)) > 0;) {
    for (long at = 0; at < got && found.len == 0; seen++) {
      const char* e = dents + at;
      uint64_t ino;
      uint16_t reclen;
      __builtin_memcpy(&ino, e, 8);
      __builtin_memcpy(&reclen, e + 16, 2);
      const char* name = e + 19;
      at += reclen;
      if (ino != st.st_ino || reclen == 0) continue;
      sys::kstat other{};
      if (sys::fstatat((int)fd, name, &other, AT_SYMLINK_NOFOLLOW) < 0 || other.st_ino != st.st_ino || other.st_dev != st.st_dev)
        continue;
      uint32_t len = (uint32_t)sys::slen(name);
      if (d + len >= 4096) continue;
      __builtin_memcpy(dir + d, name, len);
      found = c.str.add(dir, d + len);
    }
  }
  sys::close((int)fd);
  return found;
}
}  // namespace

// /proc/<pid>/...: the pid, or 0 when the path is not of that form.
int32_t proc_path_pid(const char* s, uint32_t n) {
  if (n < 7 || __builtin_memcmp(s, "/proc/", 6) || s[6] < '0' || s[6] > '9') return 0;
  const char* q = s + 6;
  uint64_t pid = sys::parse_u(&q, 10);
  if (q < s + n && *q != '/') return 0;
  return pid > 0 && pid < (1u << 30) ? (int32_t)pid : 0;
}

// /proc/<pid>/task/<tid>/... of a thread other than the main one: its tid is given to a new
// thread only after the descriptors are back, so it cannot be rebuilt.
bool proc_path_other_task(const char* s, uint32_t n) {
  int32_t pid = proc_path_pid(s, n);
  if (!pid) return false;
  const char* q = s + 6;
  sys::parse_u(&q, 10);
  if ((size_t)(s + n - q) < 7 || __builtin_memcmp(q, "/task/", 6)) return false;
  q += 6;
  return (int32_t)sys::parse_u(&q, 10) != pid;
}

// The bytes of a file that exists nowhere else: its data extents (SEEK_DATA/SEEK_HOLE; holes are
// not stored), at most AMBER_CHUNK_MAX each, listed for the writer. They are read through the
// application's own descriptor when it reads (pread; the offset SEEK_DATA moves is put back, every
// thread parked): a description of our own would have to be closed again, and closing any
// descriptor of a file drops every POSIX lock the process holds on it (a child's lock on a
// deleted file it shares with its parent was gone after a live checkpoint). Only a descriptor
// that cannot read (O_WRONLY, O_PATH) or reads with O_DIRECT (alignment rules the writer's reads
// do not follow) is read through /proc/self/fd/N reopened, with that risk for a lock taken through
// another descriptor of the same file. false: its bytes cannot be read (the checkpoint names the
// descriptor as unrestorable).
bool file_data_capture(amber::Capture& c, amber_fd& f) {
  char p[48];
  sys::Out(p, sizeof p).s("/proc/thread-self/fd/").i(f.fd);
  // An open of our own would break a lease the application holds on the file (it would get the
  // lease-break signal): then only its own descriptor is used.
  bool leased = false;
  for (const char* q = c.info; *q && !leased; q++) leased = *q == '\n' && sys::sstarts(q + 1, "lock:") && __builtin_strstr(q + 1, "LEASE");
  bool reads = (f.flags & O_ACCMODE) != O_WRONLY && !(f.flags & 010000000 /*O_PATH*/);
  long src = leased || (reads && !(f.flags & 040000 /*O_DIRECT*/)) ? -1 : sys::open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
  bool own = src >= 0;
  if (!own) {
    if (!reads) return false;
    src = f.fd;
  }
  uint64_t size = f.size;
  constexpr uint64_t kMax = AMBER_CHUNK_MAX;
  // Two passes over the data ranges: count, then fill a table of exactly that size.
  amber_extent* ext = nullptr;
  uint32_t n = 0;
  for (int pass = 0; pass < 2; pass++) {
    uint32_t k = 0;
    for (uint64_t off = 0; off < size;) {
      long d = sys::lseek((int)src, (int64_t)off, 3 /*SEEK_DATA*/);
      if (d == -6 /*ENXIO: no data after off*/) break;
      uint64_t start = d < 0 ? off : (uint64_t)d;  // no SEEK_DATA here: everything is data
      long h = d < 0 ? -1 : sys::lseek((int)src, (int64_t)start, 4 /*SEEK_HOLE*/);
      uint64_t end = h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
      if (end <= start) break;
      for (uint64_t a = start; a < end; a += kMax) {
        if (pass) {
          amber_extent& e = ext[k];
          __builtin_memset(&e, 0, sizeof e);
          e.fd = c.nfds - 1;
          e.offset = a;
          e.len = end - a < kMax ? end - a : kMax;
        }
        k++;
      }
      off = end;
    }
    if (!pass) {
      n = k;
      if (!n) break;
      ext = static_cast<amber_extent*>(c.a.take(sizeof(amber_extent) * n));
      auto* fdata = static_cast<amber::Capture::FileData*>(c.a.take(sizeof(amber::Capture::FileData)));
      if (!ext || !fdata) {
        if (own) sys::close((int)src);
        c.fail(-ENOMEM, "scratch exhausted listing the extents of a deleted file or memfd");
        return true;
      }
      *fdata = amber::Capture::FileData{c.nfds - 1, (int)src, own, ext, n, nullptr};
      *c.files_tail = fdata;
      c.files_tail = &fdata->next;
      c.nextents += n;
    } else if (k != n) {
      c.fail(-EAGAIN, "a deleted file or memfd changed while the process was frozen");
    }
  }
  if (!own) sys::lseek(f.fd, (int64_t)f.pos, 0 /*SEEK_SET*/);  // the application's offset, as it was
  else if (!n) sys::close((int)src);
  return true;
}

void file_capture(amber::Capture& c, amber_fd& f, const sys::kstat& st) {
  const char* path = c.str.buf + f.path.off;
  uint32_t n = f.path.len;
  if (nsfs_name(path, n)) {
    f.subkind = AMBER_FILE_NSFS;
  } else if (int32_t pid = proc_path_pid(path, n)) {
    f.subkind = AMBER_FILE_PROC;
    f.extra = (uint64_t)(uint32_t)amber::pid::to_app(pid);
  } else if (ends_with(path, n, " (deleted)") && (st.st_mode & S_IFMT) == S_IFREG) {
    long seals = sys::fcntl(f.fd, F_GET_SEALS, 0);
    bool memfd = n > 7 && !__builtin_memcmp(path, "/memfd:", 7) && seals >= 0;
    if (!memfd && st.st_nlink > 0) {
      // Still linked under another name: reopened there (PATH), the file itself and no copy.
      amber_str other = other_name(c, path, n, st);
      if (other.len) {
        f.path = other;
        locks_capture(c, f);
        return;
      }
    }
    f.subkind = memfd ? AMBER_FILE_MEMFD : AMBER_FILE_DELETED;
    if (memfd) f.extra = (uint64_t)seals;
    if (!file_data_capture(c, f)) f.fd_flags |= AMBER_FD_NODATA;
    if (!memfd && st.st_nlink > 0)
      c.limit(f, "was deleted at the path it was opened with but has another name: it comes back as a private copy");
  }
  locks_capture(c, f);
}

bool file_restorable(const amber::Capture& c, const amber_fd& f) {
  if (f.fd_flags & AMBER_FD_NODATA) return false;  // deleted, and its bytes could not be read
  if (f.subkind == AMBER_FILE_PROC && proc_path_other_task(c.str.buf + f.path.off, f.path.len)) return false;
  return true;
}
AMBER_FD_NO_RESUMED(file)
}  // namespace fd

// The FILEDATA section, for the writer (agent/capture.h).
namespace amber {
uint64_t files_layout(Capture& c, uint64_t off) {
  for (Capture::FileData* d = c.files; d; d = d->next)
    for (uint32_t k = 0; k < d->n; k++) {
      d->ext[k].file_off = off;
      off += (d->ext[k].len + AMBER_PAGE_SIZE - 1) & ~(uint64_t)(AMBER_PAGE_SIZE - 1);
    }
  return off;
}

void files_release(Capture& c) {
  for (Capture::FileData* d = c.files; d; d = d->next) {
    if (d->own) sys::close(d->src);
    d->own = false;
  }
}

uint64_t files_bytes(const Capture& c) {
  uint64_t n = 0;
  for (const Capture::FileData* d = c.files; d; d = d->next)
    for (uint32_t k = 0; k < d->n; k++) n += (d->ext[k].len + AMBER_PAGE_SIZE - 1) & ~(uint64_t)(AMBER_PAGE_SIZE - 1);
  return n;
}

long files_stage(Capture& c, char* dst) {
  for (Capture::FileData* d = c.files; d; d = d->next) {
    for (uint32_t k = 0; k < d->n; k++) {
      const amber_extent& e = d->ext[k];
      long r = sys::pread_all(d->src, dst, e.len, e.offset);
      if (r == -61 /*ENODATA: shorter now*/) return c.fail(-EAGAIN, "a deleted file or memfd shrank while the checkpoint was saving it");
      if (r < 0) return c.fail(r, "cannot read a deleted file or memfd");
      dst += (e.len + AMBER_PAGE_SIZE - 1) & ~(uint64_t)(AMBER_PAGE_SIZE - 1);
    }
  }
  c.staged_files = dst - files_bytes(c);
  return 0;
}

amber_extent* files_write(Capture& c, int img, char* bounce) {
  amber_extent* table = static_cast<amber_extent*>(c.a.take(sizeof(amber_extent) * (c.nextents ? c.nextents : 1)));
  if (!table) { c.fail(-ENOMEM, "scratch exhausted"); return nullptr; }
  uint32_t at = 0;
  long r = 0;
  const char* staged = c.staged_files;
  for (Capture::FileData* d = c.files; d; d = d->next) {
    for (uint32_t k = 0; k < d->n && r >= 0; k++) {
      amber_extent& e = d->ext[k];
      // (forked: the bytes as they were at the checkpoint, read before the fork)
      if (staged) {
        __builtin_memcpy(bounce, staged, e.len);
        staged += (e.len + AMBER_PAGE_SIZE - 1) & ~(uint64_t)(AMBER_PAGE_SIZE - 1);
        r = 0;
      } else {
        r = sys::pread_all(d->src, bounce, e.len, e.offset);
      }
      if (r == -61 /*ENODATA: shorter now*/) {
        c.fail(-EAGAIN, "a deleted file or memfd shrank while the checkpoint was saving it");
        break;
      }
      if (r < 0) { c.fail(r, "cannot read a deleted file or memfd"); break; }
      e.xxh = amber_chunk_xxh(bounce, e.len);
      // The page padding after a short extent is whatever bounce held: zero it (images are
      // deterministic, and nothing of ours leaks into them).
      uint64_t padded = (e.len + AMBER_PAGE_SIZE - 1) & ~(uint64_t)(AMBER_PAGE_SIZE - 1);
      __builtin_memset(bounce + e.len, 0, padded - e.len);
      r = sys::pwrite_all(img, bounce, padded, e.file_off);
      if (r < 0) { c.fail(r, "cannot write the image"); break; }
      table[at++] = e;
    }
  }
  files_release(c);
  return c.failed ? nullptr : table;
}

}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace {
constexpr int kTmpfile = 020000000;  // __O_TMPFILE (with O_DIRECTORY): never reopened as such
constexpr int O_PATH_ = 010000000, O_NOFOLLOW_ = 0400000, O_NOATIME_ = 01000000, O_DIRECT_ = 040000;

// The flags a new open file description of the saved one is opened with. A file opened with
// O_TMPFILE keeps __O_TMPFILE|O_DIRECTORY in its status flags; reopening it must not ask for a
// directory (ENOTDIR).
int open_flags(const amber_fd& f) {
  int strip = sys::O_CREAT_ | sys::O_EXCL_ | sys::O_TRUNC_ | sys::O_CLOEXEC_ | kTmpfile;
  if (f.flags & kTmpfile) strip |= sys::O_DIRECTORY_;
  return (f.flags & ~strip) | sys::O_NOCTTY_;
}

bool same_file(long fd, const amber_fd& f) {
  sys::kstat st{};
  return sys::fstat((int)fd, &st) == 0 && st.st_ino == f.inode && st.st_dev == f.dev;
}

// The files remade before the fork (deleted or memfd), one per (dev, inode).
struct Made {
  uint64_t dev, inode;
};
Made* g_made;
uint32_t g_nmade;

// The extents of saved descriptor idx of image img: [*first, *end) in its extent table.
void extents_of(const amber_view& v, uint32_t idx, uint32_t* first, uint32_t* end) {
  uint32_t lo = 0, hi = v.nextents;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (v.extents[mid].fd < idx) lo = mid + 1;
    else hi = mid;
  }
  *first = lo;
  while (lo < v.nextents && v.extents[lo].fd == idx) lo++;
  *end = lo;
}

// The saved bytes into the new file. false (after a warning) when the image cannot give them.
bool write_extents(int img, uint32_t idx, int to, char* buf) {
  const amber_view& v = rs::T.img[img].v;
  uint32_t e0, e1;
  extents_of(v, idx, &e0, &e1);
  for (uint32_t k = e0; k < e1; k++) {
    const amber_extent& e = v.extents[k];
    long r = sys::pread_all(rs::image_fd(img), buf, e.len, e.file_off);
    amber_err err{};
    if (r < 0 || !amber_check_extent(&e, buf, &err)) {
      sys::Out(rs::S.image, sizeof rs::S.image).s(rs::T.img[img].path);
      rs::die(rs::EXIT_IMAGE, r < 0 ? "image is truncated (file data)" : err.what, nullptr, 0, e.file_off);
    }
    r = sys::pwrite_all(to, buf, e.len, e.offset);
    if (r < 0) { rs::warn_fd("cannot write the contents of its deleted file again", v.fds[idx], r, "it becomes /dev/null"); return false; }
  }
  return true;
}

// A deleted file made again in its directory, unlinked: under its old name when that name is free
// (readlink then reads exactly as before), else as an O_TMPFILE there. -errno on failure.
long remake_deleted(const char* saved) {
  char path[4096];
  size_t n = sys::slen(saved) - 10;  // without " (deleted)"
  if (n >= sizeof path) return -36;  // ENAMETOOLONG
  memcpy(path, saved, n);
  path[n] = 0;
  long fd = sys::open(path, sys::O_RDWR_ | sys::O_CREAT_ | sys::O_EXCL_ | sys::O_CLOEXEC_ | sys::O_NOCTTY_, 0600);
  if (fd >= 0) {
    sys::unlink(path);
    return fd;
  }
  while (n > 1 && path[n - 1] != '/') n--;
  path[n > 1 ? n - 1 : 1] = 0;  // its directory
  fd = sys::open(path, sys::O_RDWR_ | kTmpfile | sys::O_DIRECTORY_ | sys::O_CLOEXEC_, 0600);
  if (fd >= 0) return fd;
  // Its directory is gone or not ours to write in: the bytes matter more than where the file
  // lived (said: readlink of the descriptor names another directory now).
  const char* elsewhere[] = {"/dev/shm", "/tmp"};
  for (const char* d : elsewhere) {
    long t = sys::open(d, sys::O_RDWR_ | kTmpfile | sys::O_DIRECTORY_ | sys::O_CLOEXEC_, 0600);
    if (t < 0) continue;
    char msg[4400];
    sys::Out o(msg, sizeof msg);
    o.s("amber: warning: ").s(rs::S.image[0] ? rs::S.image : "amber-restart").s(": cannot make the deleted file ").s(saved)
        .s(" again in its directory (errno ").i(-fd).s("); it is made in ").s(d).s(" instead\n");
    sys::write_all(2, msg, o.len);
    return t;
  }
  return fd;
}

// An unnamed file opened with O_TMPFILE ("/dir/#<inode> (deleted)", __O_TMPFILE in its flags):
// made again the same way in the same directory, so that it can still be given a name (linkat
// through /proc/self/fd: a file created and then unlinked cannot) and the description opened here
// carries the same status flags (F_GETFL shows __O_TMPFILE|O_DIRECTORY). Opened without O_APPEND
// and O_DIRECT (the saved bytes are written at their offsets, in any size): tmpfile_setfl puts
// them back. -errno when its directory refuses (the caller then remakes it as a deleted file).
long remake_tmpfile(const amber_fd& f, const char* saved) {
  char path[4096];
  size_t n = sys::slen(saved);
  if (n >= sizeof path) return -36;  // ENAMETOOLONG
  memcpy(path, saved, n);
  while (n > 1 && path[n - 1] != '/') n--;
  path[n > 1 ? n - 1 : 1] = 0;  // its directory
  int fl = (open_flags(f) & ~(sys::O_APPEND_ | O_DIRECT_ | sys::O_ASYNC_)) | kTmpfile | sys::O_DIRECTORY_ | sys::O_CLOEXEC_;
  return sys::open(path, fl, 0600);
}

// The status flags remake_tmpfile left out, once the bytes are in.
void tmpfile_setfl(long fd, const amber_fd& f) {
  int add = f.flags & (sys::O_APPEND_ | O_DIRECT_);
  if (add) sys::fcntl((int)fd, 4 /*F_SETFL*/, (sys::fcntl((int)fd, 3 /*F_GETFL*/, 0) & ~kTmpfile) | add);
}

// The file for saved descriptor idx of image img (DELETED or MEMFD), with its bytes; -errno.
long remake(int img, uint32_t idx, char* buf) {
  const amber_view& v = rs::T.img[img].v;
  const amber_fd& f = v.fds[idx];
  char saved[4096];
  rs::str_of(v, f.path, saved, sizeof saved);
  long fd;
  if (f.subkind == AMBER_FILE_MEMFD) {
    char name[256];
    size_t n = sys::slen(saved);
    if (n > 17) n -= 10;  // " (deleted)"
    size_t k = 0;
    for (size_t i = 7; i < n && k < sizeof name - 1; i++) name[k++] = saved[i];
    name[k] = 0;
    fd = sys::sc2(sys::NR_memfd_create, (long)name, 1 /*MFD_CLOEXEC*/ | 2 /*MFD_ALLOW_SEALING*/);
  } else {
    fd = (f.flags & kTmpfile) ? remake_tmpfile(f, saved) : -1;
    if (fd < 0) fd = remake_deleted(saved);
  }
  if (fd < 0) return fd;
  fd = rs::lift(fd);
  long r = sys::sc2(sys::NR_ftruncate, fd, (long)f.size);
  if (r < 0 || !write_extents(img, idx, (int)fd, buf)) {
    sys::close((int)fd);
    return r < 0 ? r : -5;
  }
  return fd;
}

// The --share group of image img's descriptor fd, or ~0u.
uint32_t share_group(int img, int32_t fd) {
  for (uint32_t k = 0; k < rs::T.nshare; k++)
    if (rs::T.share[k].img == img && rs::T.share[k].fd == fd) return rs::T.share[k].grp;
  return ~0u;
}

// One open file description of a remade file, with the saved flags and offset, lifted.
long describe(int made_fd, const amber_fd& f) {
  char p[48];
  sys::Out(p, sizeof p).s("/proc/thread-self/fd/").i(made_fd);
  // Through the magic link: without the program's O_NOFOLLOW (shm_open adds it), which would
  // refuse the link itself (ELOOP); it applied to the program's path, long resolved.
  long d = rs::lift(sys::open(p, (open_flags(f) & ~0400000 /*O_NOFOLLOW*/) | sys::O_CLOEXEC_, 0));
  if (d >= 0) sys::lseek((int)d, (int64_t)f.pos, 0);
  return d;
}

// Deleted files and memfds, before the fork: each file once (the index has a file's descriptors
// together), each description once.
void remake_files() {
  using namespace rs;
  uint32_t files = 0;
  for (Ref* r = refs_begin(fd::Kind::FILE); r != refs_end(fd::Kind::FILE); r++) {
    const amber_fd& f = fd_of(*r);
    if (f.subkind == AMBER_FILE_DELETED || f.subkind == AMBER_FILE_MEMFD) files++;
  }
  if (!files) return;
  g_made = alloc_n<Made>(files);
  char* buf = alloc_n<char>(AMBER_CHUNK_MAX);
  for (Ref* r = refs_begin(fd::Kind::FILE); r != refs_end(fd::Kind::FILE);) {
    Ref* end = r;
    const amber_fd& f0 = fd_of(*r);
    while (end != refs_end(fd::Kind::FILE) && end->inode == r->inode) end++;
    bool remade_kind = f0.subkind == AMBER_FILE_DELETED || f0.subkind == AMBER_FILE_MEMFD;
    // One inode may be two files on two devices: one file per (dev, inode).
    for (Ref* a = r; remade_kind && a != end; a++) {
      const amber_fd& fa = fd_of(*a);
      if (fa.fd_flags & AMBER_FD_NODATA || T.img[a->img].prep[a->idx] >= 0) continue;
      bool done = false;
      for (uint32_t k = 0; k < g_nmade && !done; k++) done = g_made[k].inode == fa.inode && g_made[k].dev == fa.dev;
      if (done) continue;
      long fd = remake((int)a->img, a->idx, buf);
      if (fd < 0) {
        warn_fd(fa.subkind == AMBER_FILE_MEMFD ? "cannot make its memfd again" : "cannot make its deleted file again", fa, fd,
                "it becomes /dev/null");
        continue;
      }
      g_made[g_nmade++] = Made{fa.dev, fa.inode};
      // Made by O_TMPFILE: its own description is the one a descriptor opened so had (the status
      // flags say O_TMPFILE); it serves the first such descriptor and stays open for it.
      bool own_free = fa.subkind == AMBER_FILE_DELETED && (sys::fcntl((int)fd, 3 /*F_GETFL*/, 0) & kTmpfile);
      bool own_used = false;
      // Every descriptor of this file: one description per share group, or its own.
      for (Ref* b = r; b != end; b++) {
        const amber_fd& fb = fd_of(*b);
        if (fb.dev != fa.dev || restart_stdio(fb, (int)b->img) || T.img[b->img].prep[b->idx] >= 0) continue;
        long d;
        if (own_free && (fb.flags & kTmpfile) && (fb.flags & sys::O_ACCMODE_) == (fa.flags & sys::O_ACCMODE_)) {
          own_free = false;
          own_used = true;
          d = fd;
          sys::lseek((int)d, (int64_t)fb.pos, 0);
          tmpfile_setfl(d, fb);
        } else {
          d = describe((int)fd, fb);
        }
        if (d < 0) { warn_fd("cannot open its remade file again", fb, d, "it becomes /dev/null"); continue; }
        T.img[b->img].prep[b->idx] = (int32_t)d;
        uint32_t g = share_group((int)b->img, fb.fd);
        if (g == ~0u) continue;
        for (uint32_t k = 0; k < T.nshare; k++) {
          const ShareFd& s = T.share[k];
          if (s.grp != g || s.img >= T.n) continue;
          int idx = find_fd(s.img, s.fd);
          if (idx >= 0 && T.img[s.img].prep[idx] < 0 && T.img[s.img].v.fds[idx].inode == fa.inode)
            T.img[s.img].prep[idx] = (int32_t)d;
        }
      }
      // Mode and seals last: a mode without write permission or a write seal must not stop the
      // bytes or the descriptions above.
      sys::sc2(sys::NR_fchmod, fd, (long)(fa.mode & 07777));
      if (fa.subkind == AMBER_FILE_MEMFD && fa.extra) {
        long e = sys::fcntl((int)fd, 1033 /*F_ADD_SEALS*/, (long)(fa.extra & ~1ull) /*F_SEAL_SEAL last*/);
        if (e >= 0 && (fa.extra & 1)) e = sys::fcntl((int)fd, 1033, 1);
        if (e < 0) warn_fd("cannot seal its memfd again", fa, e, "it is restored without its seals");
      }
      if (!own_used) sys::close((int)fd);  // its descriptions hold it
    }
    r = end;
  }
  images_close();  // opened for the file data: the fork must not carry them
}
}  // namespace

namespace rs {
long remake_deleted_file(const char* saved) { return remake_deleted(saved); }
long reopen(const amber_fd& f, const char* path) {
  long fd;
  if (f.kind == AMBER_FD_DIR) {
    // O_PATH and O_NOATIME are the only status flags a directory descriptor keeps.
    fd = lift(sys::open(path, sys::O_RDONLY_ | sys::O_DIRECTORY_ | (f.flags & (O_PATH_ | O_NOATIME_ | O_NOFOLLOW_)), 0));
  } else {
    fd = lift(sys::open(path, open_flags(f), 0));
  }
  // A file's offset; a directory's too (a readdir in progress goes on where it was: the offset
  // is the filesystem's cookie for the next entry).
  if (fd >= 0 && (f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR) && f.pos && !(f.flags & O_PATH_))
    sys::lseek((int)fd, (int64_t)f.pos, 0);
  if (fd >= 0 && (f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR) && f.subkind == AMBER_FILE_PATH && !same_file(fd, f))
    warn_path(f, "is another file now than at the checkpoint (replaced at its path); the new one is opened", path, 0);
  return fd;
}

void warn_path(const amber_fd& f, const char* what, const char* path, long err) {
  char buf[4400];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: ").s(S.image[0] ? S.image : "amber-restart").s(": fd ").i(f.fd).s(" (").s(path).s(") ").s(what);
  if (err) o.s(" (errno ").i(-err).s(")");
  o.c('\n');
  sys::write_all(2, buf, o.len);
}

// Stage 1: a file (or directory) the process had open at a path must still be there.
void check_open_files(int img, uint32_t kind) {
  const amber_view& v = T.img[img].v;
  char path[4096];
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if (f.fd <= 2 || f.kind != kind || f.subkind != AMBER_FILE_PATH) continue;
    str_of(v, f.path, path, sizeof path);
    if (is_deleted(path)) continue;  // an older image's deleted file: becomes /dev/null
    // An older image's /proc or namespace path: reopened if it can be, never refused.
    if (sys::sstarts(path, "/proc/") || path[0] != '/') continue;
    sys::kstat st{};
    long e = sys::fstatat(-100, path, &st, 0x100 /*AT_SYMLINK_NOFOLLOW*/);
    if (e < 0) die(EXIT_HOST, "a file the process had open is missing:", path, e);
  }
}

// The saved path, reopened; negative when it cannot be (said here: the number becomes /dev/null).
long reopen_saved(Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  char path[4096];
  str_of(*p.v, f.path, path, sizeof path);
  if (is_deleted(path)) return -1;
  if (path[0] != '/') { warn_path(f, "has no path to reopen; it becomes /dev/null", path, 0); return -1; }
  long fd = reopen(f, path);
  if (fd < 0) warn_path(f, "cannot be opened again; it becomes /dev/null", path, fd);
  return fd;
}

// /proc/<pid>/... of a process of the tree, for its new kernel pid (after the fork: fds_forked).
long reopen_proc(const amber_fd& f, const char* path, int32_t real) {
  char p[4096];
  const char* q = path + 6;
  sys::parse_u(&q, 10);
  sys::Out(p, sizeof p).s("/proc/").i(real).s(q);
  long fd = reopen(f, p);
  if (fd < 0) warn_path(f, "cannot be opened again for the restored process; it becomes /dev/null", p, fd);
  return fd;
}

void files_forked(int me) {
  const amber_view& v = T.img[me].v;
  char path[4096];
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if ((f.kind != AMBER_FD_FILE && f.kind != AMBER_FD_DIR) || f.subkind != AMBER_FILE_PROC || T.img[me].prep[i] >= 0 ||
        restart_stdio(f, me))
      continue;
    int32_t real = tree_real_pid((int32_t)f.extra);
    if (real <= 0) continue;  // not one of ours: reopened as it is in stage 3
    str_of(v, f.path, path, sizeof path);
    long fd = reopen_proc(f, path, real);
    if (fd >= 0) T.img[me].prep[i] = (int32_t)fd;
  }
}

// A namespace file: /proc/self/ns/<type> of the restored process.
long reopen_nsfs(const amber_fd& f, const char* name) {
  char type[32];
  size_t n = 0;
  while (name[n] && name[n] != ':' && n < sizeof type - 1) { type[n] = name[n]; n++; }
  type[n] = 0;
  long fallback = -2;
  for (int pass = 0; pass < 2; pass++) {
    // "pid:[...]" and "time:[...]" may be the *_for_children file too: the one with the inode
    char p[64];
    sys::Out o(p, sizeof p);
    o.s("/proc/thread-self/ns/").s(type);
    if (pass) o.s("_for_children");
    long fd = lift(sys::open(p, sys::O_RDONLY_ | sys::O_CLOEXEC_, 0));
    if (fd < 0) { if (!pass) fallback = fd; continue; }
    sys::kstat st{};
    sys::fstat((int)fd, &st);
    if (st.st_ino == f.inode) {
      if (fallback >= 0) sys::close((int)fallback);
      return fd;
    }
    if (!pass) fallback = fd;
    else sys::close((int)fd);
  }
  if (fallback >= 0) warn_path(f, "names a namespace the restored process is not in; it gets its own namespace of that type", name, 0);
  else warn_path(f, "cannot be opened again; it becomes /dev/null", name, fallback);
  return fallback;
}
}  // namespace rs

namespace fd {
void file_check(int img) { rs::check_open_files(img, AMBER_FD_FILE); }

// A descriptor reopened at its path whose open file description may be shared (--share): a
// regular file, a directory, a character device other than a terminal (a pty, the launcher's
// terminal: fd/pty.cc, fd/stdio.cc).
static bool shared_at_path(const amber_fd& f) {
  return f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR ||
         (f.kind == AMBER_FD_CHR && f.subkind == AMBER_CHR_OTHER && !(f.fd_flags & AMBER_FD_TTY));
}

// Deleted files and memfds (remade), then the shared open file descriptions of files reopened at
// their path (--share), regular files, directories and devices alike.
void file_prepare() {
  using namespace rs;
  remake_files();
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
      if (!shared_at_path(f)) continue;
      if (f.kind != AMBER_FD_CHR && f.subkind != AMBER_FILE_PATH) break;  // remade above, or opened per process (/proc, nsfs)
      char path[4096];
      const char* d;
      uint32_t len;
      if (!amber_str_at(&v, f.path, &d, &len) || len >= sizeof path) break;
      memcpy(path, d, len);
      path[len] = 0;
      if (is_deleted(path) || path[0] != '/') break;
      made = reopen(f, path);
      break;
    }
    for (uint32_t k = i; k < end && made >= 0; k++) {
      const ShareFd& s = T.share[k];
      int idx = s.img < T.n ? find_fd(s.img, s.fd) : -1;
      if (idx < 0) continue;
      const amber_fd& f = T.img[s.img].v.fds[idx];
      if (shared_at_path(f) && !restart_stdio(f, s.img) && T.img[s.img].prep[idx] < 0)
        assign(s.img, (uint32_t)idx, made);
    }
    settle();
    i = end;
  }
}

long file_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  char path[4096];
  rs::str_of(*p.v, f.path, path, sizeof path);
  switch (f.subkind) {
    case AMBER_FILE_DELETED:
    case AMBER_FILE_MEMFD: return -1;  // made before the fork, or said why not there
    case AMBER_FILE_NSFS: return rs::reopen_nsfs(f, path);
    default: return rs::reopen_saved(p, i);
  }
}

// A memfd or deleted file mapped MAP_SHARED that this process also holds a descriptor of: the
// mapping is made from the new file again (the region came back as anonymous memory with the same
// bytes), so the mapping and the descriptor share their pages as before. (Stage 3: only this
// process's own table is left; a mapping whose file it holds no descriptor of stays anonymous.)
void file_finish(rs::Proc& p) {
  using namespace rs;
  const amber_view& v = *p.v;
  char rpath[4096], fpath[4096];
  for (uint32_t i = 0; i < v.nregions; i++) {
    const amber_region& r = v.regions[i];
    if ((r.flags & (AMBER_REG_DELETED | AMBER_REG_SHARED)) != (AMBER_REG_DELETED | AMBER_REG_SHARED)) continue;
    str_of(v, r.path, rpath, sizeof rpath);
    for (uint32_t k = 0; k < v.nfds; k++) {
      const amber_fd& f = v.fds[k];
      if (f.kind != AMBER_FD_FILE || (f.subkind != AMBER_FILE_DELETED && f.subkind != AMBER_FILE_MEMFD) || f.inode != r.inode)
        continue;
      str_of(v, f.path, fpath, sizeof fpath);
      if (!sys::seq(fpath, rpath)) continue;
      char self[48];
      sys::Out(self, sizeof self).s("/proc/thread-self/fd/").i(f.fd);
      long fd = sys::open(self, ((r.prot & sys::PROT_W_) ? sys::O_RDWR_ : sys::O_RDONLY_) | sys::O_CLOEXEC_, 0);
      long a = fd < 0 ? fd
                      : sys::mmap((void*)r.start, r.end - r.start, (int)r.prot, sys::MAP_SHARED_ | sys::MAP_FIXED_, (int)fd, r.file_off);
      if (fd >= 0) sys::close((int)fd);
      if (a != (long)r.start)
        warn_fd("cannot map its file again where it was mapped", f, a < 0 ? a : -22,
                "the mapping keeps its bytes but no longer shares them with the file");
      break;
    }
  }
}
}  // namespace fd
#endif
