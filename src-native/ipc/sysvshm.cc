// SysV shared memory (shmget/shmat): a segment attached by processes of the computation. Its id
// is chosen by the kernel and an unprivileged process cannot ask for one, so the restart keeps
// the segment itself: the one with the saved id, which outlives the processes (until IPC_RMID).
//
// Capture (mem/regions.cc): the attach is a region "/SYSV<key> (deleted)" whose inode is the
// segment id, stored whole. A segment already removed (IPC_RMID: SHM_DEST, freed at its last
// detach) dies with the processes and a new one would get another id: named at checkpoint as
// something the restart cannot rebuild.
//
// Restore: stage 1 refuses an image whose segment is gone (or is another segment now: key or
// size differ). Before the fork, the segment's bytes are set to the saved ones (zeroed, then the
// stored pages). In stage 3 each attach is made again at its address with shmat (the kernel
// counts the attaches: IPC_STAT's shm_nattch is right again), read-only when it was.
#include "image/format.h"

namespace {
constexpr long NR_shmat = 30, NR_shmctl = 31, NR_shmdt = 67;
constexpr long IPC_STAT_ = 2;
constexpr uint32_t SHM_DEST_ = 01000;
// struct shmid64_ds (x86-64): ipc64_perm (key at 0, mode at 20), shm_segsz at 48.
struct ShmStat {
  int32_t key;
  uint32_t uid, gid, cuid, cgid, mode;
  uint8_t rest[104];
  uint64_t segsz() const { uint64_t v; __builtin_memcpy(&v, reinterpret_cast<const char*>(this) + 48, 8); return v; }
};
static_assert(sizeof(ShmStat) >= 112, "shmid64_ds");

bool is_sysv(const char* path, uint32_t len) { return len >= 5 && !__builtin_memcmp(path, "/SYSV", 5); }
}  // namespace

#ifdef AMBER_AGENT
#include <errno.h>
#include <sys/shm.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"

namespace amber {
// A region of the process is a SysV attach (path at p, len bytes): a removed segment is named.
void sysvshm_note(const amber_region& r, const char* p, uint32_t len) {
  if (!is_sysv(p, len)) return;
  ShmStat st{};
  if (sys::sc3(NR_shmctl, (long)r.inode, IPC_STAT_, (long)&st) < 0) return;
  if (!(st.mode & SHM_DEST_)) return;
  // (once per segment: the regions of one attach are neighbours)
  char id[24];
  sys::Out(id, sizeof id).u(r.inode);
  if (__builtin_strstr(g_unrestorable, id)) return;
  size_t at = sys::slen(g_unrestorable);
  if (at > 1200) return;
  sys::Out o(g_unrestorable + at, sizeof g_unrestorable - at);
  if (at) o.c(',');
  o.s("\"SysV shared memory segment ").s(id)
      .s(": removed (IPC_RMID) while attached, it ends with the processes; a segment made again would get another id, so a restart after they end refuses\"");
}
}  // namespace amber

// A segment's creator and last attacher/detacher are kernel pids: after a restart not the ones
// the program knows. IPC_STAT, SHM_STAT (13) and SHM_STAT_ANY (15) give them back translated; the
// kernel wrote the struct, so it is writable. The same system call as glibc's on x86-64.
extern "C" __attribute__((visibility("default"))) int shmctl(int id, int cmd, struct shmid_ds* buf) {
  long r = sys::sc3(NR_shmctl, id, cmd, (long)buf);
  if (r < 0) { errno = (int)-r; return -1; }
  if (cmd == IPC_STAT || cmd == 13 || cmd == 15) {
    buf->shm_cpid = amber::pid::to_app(buf->shm_cpid);
    buf->shm_lpid = amber::pid::to_app(buf->shm_lpid);
  }
  return (int)r;
}
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
bool sysv_region(const amber_view& v, const amber_region& r) {
  const char* d;
  uint32_t len;
  return (r.flags & AMBER_REG_SHARED) && amber_str_at(&v, r.path, &d, &len) && is_sysv(d, len);
}

uint32_t key_of(const amber_view& v, const amber_region& r) {
  const char* d = nullptr;
  uint32_t len = 0;
  if (!amber_str_at(&v, r.path, &d, &len) || len < 5) return 0;
  const char* q = d + 5;
  return (uint32_t)sys::parse_u(&q, 16);
}
}  // namespace

// Stage 1: every segment the image attaches is still there, the same one.
void sysvshm_check() {
  for (uint32_t i = 0; i < S.v.nregions; i++) {
    const amber_region& r = S.v.regions[i];
    if (!sysv_region(S.v, r)) continue;
    ShmStat st{};
    char what[80];
    sys::Out(what, sizeof what).s("(id ").u(r.inode).s(", key ").x(key_of(S.v, r)).s(")");
    long e = sys::sc3(NR_shmctl, (long)r.inode, IPC_STAT_, (long)&st);
    if (e < 0) die(EXIT_HOST, "a SysV shared memory segment the process attached is gone: a new one would get another id", what, e);
    if ((uint32_t)st.key != key_of(S.v, r) || st.segsz() < r.file_off + (r.end - r.start) - (AMBER_PAGE_SIZE - 1))
      die(EXIT_HOST, "the SysV shared memory segment the process attached was replaced by another one", what);
  }
}

// Before the fork: each segment's bytes, as saved (the first image that stored them).
void sysvshm_prepare() {
  for (int k = 0; k < T.n; k++) {
    const amber_view& v = T.img[k].v;
    for (uint32_t i = 0; i < v.nregions; i++) {
      const amber_region& r = v.regions[i];
      if (!sysv_region(v, r)) continue;
      bool seen = false;  // filled from an earlier image, or an earlier region of this one
      for (int j = 0; j <= k && !seen; j++)
        for (uint32_t m = 0; m < T.img[j].v.nregions && !seen; m++) {
          if (j == k && m >= i) break;
          const amber_region& o = T.img[j].v.regions[m];
          seen = sysv_region(T.img[j].v, o) && o.inode == r.inode && o.file_off == r.file_off;
        }
      if (seen) continue;
      long a = sys::sc3(NR_shmat, (long)r.inode, 0, 0);
      if (a < 0) {
        char what[48];
        sys::Out(what, sizeof what).s("(id ").u(r.inode).s(")");
        die(EXIT_HOST, "cannot attach the SysV shared memory segment to put its saved bytes back", what, a);
      }
      uint64_t len = r.end - r.start;
      char* base = reinterpret_cast<char*>(a) + r.file_off;
      sys::madvise(base, len, 9 /*MADV_REMOVE: zero, the pages not stored are zero*/);
      int img = image_fd(k);
      for (uint32_t c = r.first_chunk; c < r.first_chunk + r.nchunks; c++) {
        const amber_chunk& ch = v.chunks[c];
        void* dst = base + (ch.addr - r.start);
        long e = sys::pread_all(img, dst, ch.len, ch.file_off);
        amber_err err{};
        if (e < 0 || !amber_check_chunk(&ch, dst, &err)) {
          sys::Out(S.image, sizeof S.image).s(T.img[k].path);
          if (e < 0) die(EXIT_IMAGE, "image is truncated", nullptr, 0, ch.file_off);
          die_img(err);
        }
      }
      sys::sc1(NR_shmdt, a);
    }
  }
  images_close();
}

// Stage 3: region i, a SysV attach, attached again. false: not one.
bool sysvshm_map(uint32_t i, long* addr) {
  const amber_region& r = S.v.regions[i];
  if (!sysv_region(S.v, r)) return false;
  // The rest of an attach whose start is already attached (an mprotect split it into regions).
  if (i > 0) {
    const amber_region& p = S.v.regions[i - 1];
    if (sysv_region(S.v, p) && p.inode == r.inode && p.end == r.start && p.file_off + (p.end - p.start) == r.file_off) {
      *addr = (long)r.start;
      sys::mprotect((void*)r.start, r.end - r.start, (int)r.prot);
      return true;
    }
  }
  bool ro = !(r.prot & sys::PROT_W_) && !(r.vmflags & AMBER_VM_MAYWRITE);
  int fl = (ro ? 010000 /*SHM_RDONLY*/ : 0) | ((r.prot & sys::PROT_X_) ? 0100000 /*SHM_EXEC*/ : 0);
  long a = sys::sc3(NR_shmat, (long)r.inode, (long)(r.start - r.file_off), fl);
  *addr = a == (long)(r.start - r.file_off) ? (long)r.start : (a < 0 ? a : -22);
  if (*addr == (long)r.start) sys::mprotect((void*)r.start, r.end - r.start, (int)r.prot);
  return true;
}
}  // namespace rs
#endif  // AMBER_RESTORER
