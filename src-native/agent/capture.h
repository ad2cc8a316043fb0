// What the capture halves share (agent only). The image writer (agent/writer.cc) owns one Capture
// per checkpoint and hands it to the capture half of every kind of state (fd/, mem/, proc/,
// thread/; see src-native/README.md). They run on the checkpoint thread while every other thread
// of the process is parked: raw syscalls only, all memory from the agent's scratch mapping
// (recorded NODATA in the image), no malloc, no stdio, no locks.
//
// No silent caps: a table that does not fit fails the checkpoint with a message naming the limit
// (Capture::fail), it never drops records.
#ifndef AMBER_CAPTURE_H
#define AMBER_CAPTURE_H

#ifndef AMBER_AGENT
#error "agent/capture.h is for the agent only"
#endif

#include <stddef.h>
#include <stdint.h>

#include "image/format.h"
#include "sys/sys.h"

namespace amber {

// Bump allocator over the scratch mapping; reset at every checkpoint.
struct Arena {
  char* base;
  size_t cap, used;
  void* take(size_t n) {
    n = (n + 63) & ~size_t(63);
    if (n > cap - used) return nullptr;
    void* p = base + used;
    used += n;
    return p;
  }
  size_t room() const { return cap - used; }
};

// The STRINGS section: paths and every kind's variable-size data (socket queues can be large).
// When `grows` is set the buffer is a mapping of its own that moves (mremap) to make room: hold
// offsets, not pointers, across anything that may add. The writer records it as agent memory (no
// data in the image: mem/regions.cc), like the scratch.
struct Strings {
  char* buf;
  uint32_t len, cap;
  bool full;        // an add did not fit: the checkpoint fails (writer.cc), nothing is truncated
  bool grows;
  // Room for n more bytes (plus a NUL) at buf + len, or null (full).
  char* ensure(size_t n) {
    if (n + 1 <= (size_t)(cap - len)) return buf + len;
    uint64_t want = (uint64_t)len + n + 1;
    if (!grows || want > 0xfff00000ull) { full = true; return nullptr; }
    uint64_t ncap = (uint64_t)cap * 2;
    while (ncap < want) ncap *= 2;
    if (ncap > 0xfff00000ull) ncap = 0xfff00000ull;
    long p = sys::mremap(buf, cap, ncap, 1 /*MREMAP_MAYMOVE*/, nullptr);
    if (p < 0) { full = true; return nullptr; }
    buf = reinterpret_cast<char*>(p);
    cap = (uint32_t)ncap;
    return buf + len;
  }
  amber_str add(const char* s, size_t n) {
    // s may point into buf (bytes written in place after ensure()/reserve()): keep its offset.
    bool inside = s >= buf && s < buf + cap;
    size_t soff = inside ? (size_t)(s - buf) : 0;
    if (!ensure(n)) return amber_str{0, 0};
    if (inside) s = buf + soff;
    amber_str r{len, (uint32_t)n};
    __builtin_memmove(buf + len, s, n);
    buf[len + n] = 0;
    len += (uint32_t)n + 1;
    return r;
  }
  // Room for n bytes written in place at the end (then add(end(), n) commits them).
  char* reserve(size_t n) { return ensure(n); }
  // Appends n bytes with no terminator (a record built in pieces); returns their offset.
  uint32_t append(const void* s, size_t n) {
    uint32_t at = len;
    if (!ensure(n)) return at;
    __builtin_memcpy(buf + len, s, n);
    len += (uint32_t)n;
    return at;
  }
  uint32_t room() const { return cap - len > 0 ? cap - len - 1 : 0; }
};

struct Capture {
  Arena a;
  Strings str;
  char* err;        // the first failure, for the coordinator's error reply
  size_t errlen;
  long failed;      // its -errno (0: none)
  char* tmp;        // 8 KiB for paths and short /proc text: keeps our (saved) stack small
  char* info;       // the /proc/self/fdinfo text of the descriptor being captured
  size_t info_len;
  int diag_fd;      // NETLINK_SOCK_DIAG, opened at the first Unix socket (0: not yet, -1: failed)
  int list_fd;      // our /proc/self/fd listing (not part of the image)
  amber_process_ext* ext;  // the process record's 1.5 extension (PROCEXT), zeroed
  const int32_t* fdlist;  // every descriptor number of the process (fds_capture's listing)
  uint32_t nfdlist;

  // The tables the writer lays out into sections.
  amber_region* regions;
  uint32_t nregions, cap_regions;
  amber_chunk* chunks;
  uint32_t nchunks, cap_chunks;
  amber_fd* fds;
  uint32_t nfds, cap_fds;  // the socket kinds add hidden descriptors after the table (fd/socket.cc)
  amber_timer* timers;
  uint32_t ntimers;
  uint64_t pages_total;

  // Files whose bytes only the image keeps (fd/file.cc: deleted files, memfds), by extent; the
  // writer reads them again through src (a descriptor of our own onto the file, or the
  // application's own when we could not open one: pread only, its offset untouched) and lays them
  // out after the chunks (the FILEDATA section).
  struct FileData {
    uint32_t fd_index;  // into fds
    int src;
    bool own;           // src is ours: the writer closes it
    amber_extent* ext;
    uint32_t n;
    FileData* next;
  };
  FileData* files;
  FileData** files_tail;
  uint32_t nextents;

  // Forked checkpoint (agent/writer.cc): what a fork would not show the writer as it is now was
  // copied, with the program stopped, into a private buffer the writer inherits. pre: the chunks
  // planned then (the regions not_copied_on_fork), in region order, and where each one's bytes
  // were copied (pre_src); chunk_src: for the final table, where each chunk's bytes are read
  // (null: at its address); staged_files: the FILEDATA bytes, extent after extent, page padded
  // (null: read from the files).
  amber_chunk* pre;
  const uint64_t* pre_src;
  uint32_t npre;
  uint64_t* chunk_src;
  const char* staged_files;

  // Records the first failure; returns code for `return c.fail(...)`.
  long fail(long code, const char* a, const char* b = "") {
    if (!failed) {
      failed = code;
      sys::Out o(err, errlen);
      o.s(a).s(b);
    }
    return code;
  }
  // A state the restart rebuilds with a stated limit, said at checkpoint by name (the `limits`
  // of the written reply): "fd N (path): what".
  void limit(const amber_fd& f, const char* what);
  // Reads a whole /proc file into the arena (as much as the scratch holds); NUL terminated.
  // Returns null (and fails the capture naming path) when it does not fit.
  char* read_all(const char* path, size_t* len_out);
};

// The capture halves the writer calls, in this order (each returns 0 or -errno, with c failed).
long fds_capture(Capture& c);                         // fd/fd.cc: first, before we open anything
void sysvshm_note(const amber_region& r, const char* path, uint32_t len);  // ipc/sysvshm.cc
long sem_capture(Capture& c);  // ipc/sem.cc: the SEM_UNDO adjustments
long sysv_ids_capture(Capture& c);  // ipc/msg.cc: SysV queues and sets in use
long threads_fs_capture(Capture& c);  // thread/thread.cc: threads' own working directories and umasks
// fd/file.cc, the FILEDATA section: files_layout places every extent's bytes from `off` on (page
// aligned) and returns where they end; files_write reads them from the files into `img` through
// bounce (AMBER_CHUNK_MAX bytes), checksums them and returns the contiguous table (or null with c
// failed).
uint64_t files_layout(Capture& c, uint64_t off);
amber_extent* files_write(Capture& c, int img, char* bounce);
// Forked checkpoint: the FILEDATA bytes, page padded (files_bytes), read into dst now, with the
// program stopped (the writer runs after the program may have changed the files): 0 or -errno.
uint64_t files_bytes(const Capture& c);
long files_stage(Capture& c, char* dst);
void files_release(Capture& c);  // closes our descriptors onto those files (every path out of the writer)
void fds_note_unrestorable(const Capture& c);         // fd/fd.cc: fills g_unrestorable
void fds_resumed();                                   // fd/fd.cc: after the checkpoint
long process_capture(Capture& c, amber_process& pr);  // proc/process.cc
long zombies_capture(Capture& c, amber_process& pr);  // proc/zombie.cc: unreaped children
long creds_capture(Capture& c);  // proc/creds.cc: ids, groups, capabilities, dumpable
void signals_capture(amber_process& pr);              // proc/signals.cc
long timers_capture(Capture& c, amber_process& pr);   // proc/timers.cc
void timers_stamp(Capture& c);  // proc/timers.cc: the clocks before any timer is read (first of all)
void tree_capture(amber_process& pr, const uint64_t* stat);  // proc/tree.cc (/proc/self/stat fields)
long regions_capture(Capture& c);                     // mem/regions.cc: maps -> regions
// mem/regions.cc: which pages are stored. kPlanAll: every region (a stopped checkpoint);
// kPlanNotCopied: only the regions not_copied_on_fork (forked: before the fork); kPlanWriter:
// every region, those not copied on fork taken from c.pre (forked: in the writer).
enum PlanMode { kPlanAll, kPlanNotCopied, kPlanWriter };
long chunks_plan(Capture& c, PlanMode mode = kPlanAll);
// Forked checkpoint: the regions whose bytes a fork does not copy on write, so that the copy
// would not see them as they are at the checkpoint: MAP_SHARED memory (the copy sees what the
// program writes there once it runs on), MADV_DONTFORK regions (absent in the copy),
// MADV_WIPEONFORK ones (zero there; MAP_DROPPABLE is wipe-on-fork too).
inline bool not_copied_on_fork(const amber_region& r) {
  return (r.flags & AMBER_REG_SHARED) || (r.vmflags & (AMBER_VM_DONTFORK | AMBER_VM_WIPEONFORK | AMBER_VM_DROPPABLE));
}
void regions_reprotect(Capture& c);                   // mem/regions.cc: after the data is written
uint32_t vdso_flag_of(const char* label, size_t n);   // mem/vdso.cc: [vdso], [vvar] ... or 0
bool aio_ring_ours(uint64_t start);                   // mem/aio.cc: a ring of an AIO context of ours
long aio_capture(Capture& c);  // mem/aio.cc: the AIO requests in flight (after threads_fs_capture)

// Every process of the computation captures at the same moment, so two holders of one queue or
// terminal whose contents are taken out and put back (fd/pty.cc, ipc/mqueue.cc) must take turns:
// one reading the count while the other is halfway through would save a part and put it back
// behind the rest. An open-file-description write lock on one byte at 2^62 through a description
// of our own (own): never the application's locks or their fdinfo lines; closing own releases it.
// Waits (all processes are parked: the holder finishes). 0 or -errno. (Sockets, which have no
// description of our own to lock, take turns through a POSIX lock on the socket: fd/socket.cc
// socket_turn.)
inline long hold_still(int own) {
  struct { short type, whence; long start, len; int pid, pad; } lk{1 /*F_WRLCK*/, 0 /*SEEK_SET*/, 1l << 62, 1, 0, 0};
  long r;
  do r = sys::fcntl(own, 38 /*F_OFD_SETLKW*/, (long)&lk);
  while (r == -4 /*EINTR*/);
  return r;
}

}  // namespace amber

#endif
