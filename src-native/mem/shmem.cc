// Shared memory objects: one object (shared anonymous memory, a deleted /dev/shm file, a memfd)
// mapped MAP_SHARED by several processes of the tree, or several times by one, must come back as
// ONE object: what one process writes the others read.
//
// Capture (mem/regions.cc): such a region is stored whole (ALLDATA) in each process's image, with
// the object's identity — the (dev, inode) /proc/PID/maps shows (shared anonymous memory is
// "/dev/zero (deleted)" with an inode of its own).
//
// Restore: before the tree is forked (shmem_prepare), each object once, by (dev, inode):
//   shared anonymous memory  a MAP_SHARED|MAP_ANONYMOUS mapping (maps still says /dev/zero);
//   a memfd or deleted file   the file the tree's descriptors of it were remade as (fd/file.cc),
//                             else made again (memfd_create under its name; a deleted file under
//                             its old name, unlinked at once), mapped MAP_SHARED;
// filled from the stored pages of the regions that map it, at a range no saved region uses. The
// fork gives every process that mapping; in stage 3 each region is a new mapping of the same pages
// at its address (mremap with old size 0 duplicates a shared mapping), then the pre-fork mapping
// goes (shmem_release).
//
// SysV shared memory (/SYSV...) is not one of these: ipc/.
#include "image/format.h"

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {

constexpr uint64_t kPg = AMBER_PAGE_SIZE;

// A region this file rebuilds: shared, its bytes stored (not mapped from a file at its path),
// and an object we can make again. Other shared regions without a file (a device's mapping, SysV
// shm) stay as regions.cc maps them.
bool is_object(const amber_region& r, const amber_view& v) {
  if ((r.flags & (AMBER_REG_SHARED | AMBER_REG_ALLDATA)) != (AMBER_REG_SHARED | AMBER_REG_ALLDATA)) return false;
  if (r.flags & (AMBER_REG_AIO | AMBER_REG_NODATA | AMBER_REG_VDSO | AMBER_REG_VVAR | AMBER_REG_VVAR_VCLOCK | AMBER_REG_VSYSCALL))
    return false;
  if (!r.inode) return false;
  char path[64];
  const char* d;
  uint32_t len;
  if (!amber_str_at(&v, r.path, &d, &len) || !len) return false;
  uint32_t n = len < sizeof path - 1 ? len : sizeof path - 1;
  memcpy(path, d, n);
  path[n] = 0;
  if (sys::sstarts(path, "/SYSV")) return false;
  return sys::sstarts(path, "/memfd:") || (len > 10 && !memcmp(d + len - 10, " (deleted)", 10));
}

struct Use { uint64_t dev, inode; uint32_t img, reg; };

// The object's file when a descriptor of the tree holds it (fd/file.cc made it before us): a
// description of our own, for reading and writing. -1: none.
long file_of_descriptors(uint64_t dev, uint64_t inode) {
  for (Ref* r = refs_begin(fd::Kind::FILE); r != refs_end(fd::Kind::FILE); r++) {
    if (r->inode != inode) continue;
    const amber_fd& f = fd_of(*r);
    if (f.dev != dev || (f.subkind != AMBER_FILE_DELETED && f.subkind != AMBER_FILE_MEMFD)) continue;
    int32_t p = T.img[r->img].prep[r->idx];
    if (p < 0) continue;
    char self[48];
    sys::Out(self, sizeof self).s("/proc/thread-self/fd/").i(p);
    long fd = sys::open(self, sys::O_RDWR_ | sys::O_CLOEXEC_, 0);
    if (fd >= 0) return fd;
  }
  return -1;
}

// The file for an object no descriptor holds: made again, sized. -errno.
long remake(const char* path, uint64_t size) {
  long fd;
  if (sys::sstarts(path, "/memfd:")) {
    char name[256];
    size_t n = sys::slen(path), k = 0;
    if (n > 17 && sys::seq(path + n - 10, " (deleted)")) n -= 10;
    for (size_t i = 7; i < n && k < sizeof name - 1; i++) name[k++] = path[i];
    name[k] = 0;
    fd = sys::sc2(sys::NR_memfd_create, (long)name, 1 /*MFD_CLOEXEC*/ | 2 /*MFD_ALLOW_SEALING*/);
  } else {
    fd = remake_deleted_file(path);
  }
  if (fd < 0) return fd;
  long e = sys::sc2(sys::NR_ftruncate, fd, (long)size);
  if (e < 0) { sys::close((int)fd); return e; }
  return fd;
}

void warn_obj(const char* path, const char* what, long err) {
  char buf[4400];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: shared memory ").s(path).s(": ").s(what);
  if (err) o.s(" (errno ").i(-err).s(")");
  o.s("; each process gets a private copy of its bytes\n");
  sys::write_all(2, buf, o.len);
}

// A range of len bytes no saved region of any image uses and nothing here maps, reserved.
uint64_t reserve(uint64_t len) {
  for (uint64_t cand = 0x200000000000ull; cand < 0x7f0000000000ull; cand += 0x8000000000ull) {
    bool clash = false;
    for (int k = 0; k < T.n && !clash; k++)
      for (uint32_t i = 0; i < T.img[k].v.nregions && !clash; i++)
        clash = overlaps(cand, cand + len, T.img[k].v.regions[i].start, T.img[k].v.regions[i].end);
    if (clash) continue;
    long a = sys::mmap((void*)cand, len, 0, sys::MAP_PRIVATE_ | sys::MAP_ANON_ | sys::MAP_FIXED_NOREPLACE_ | sys::MAP_NORESERVE_,
                       -1, 0);
    if (a == (long)cand) return cand;
    if (a > 0) sys::munmap((void*)a, len);
  }
  die(EXIT_SYSTEM, "no free address range for the tree's shared memory");
}

}  // namespace

void shmem_prepare() {
  uint32_t n = 0;
  for (int k = 0; k < T.n; k++)
    for (uint32_t i = 0; i < T.img[k].v.nregions; i++) n += is_object(T.img[k].v.regions[i], T.img[k].v);
  if (!n) return;
  Use* u = alloc_n<Use>(n);
  uint32_t m = 0;
  for (int k = 0; k < T.n; k++)
    for (uint32_t i = 0; i < T.img[k].v.nregions; i++) {
      const amber_region& r = T.img[k].v.regions[i];
      if (is_object(r, T.img[k].v)) u[m++] = Use{r.dev, r.inode, (uint32_t)k, i};
    }
  sort(u, n, [](const Use& a, const Use& b) {
    if (a.dev != b.dev) return a.dev < b.dev;
    if (a.inode != b.inode) return a.inode < b.inode;
    if (a.img != b.img) return a.img < b.img;
    return a.reg < b.reg;
  });
  // Objects and their sizes (the furthest byte any region maps), then one reservation for all.
  uint32_t nobj = 0;
  for (uint32_t i = 0; i < n; i++) nobj += i == 0 || u[i].dev != u[i - 1].dev || u[i].inode != u[i - 1].inode;
  T.shm = alloc_n<ShmObj>(nobj);
  uint64_t total = 0;
  for (uint32_t i = 0, o = 0; i < n; o++) {
    uint32_t j = i;
    uint64_t size = 0;
    for (; j < n && u[j].dev == u[i].dev && u[j].inode == u[i].inode; j++) {
      const amber_region& r = T.img[u[j].img].v.regions[u[j].reg];
      if (r.file_off + (r.end - r.start) > size) size = r.file_off + (r.end - r.start);
    }
    T.shm[o] = ShmObj{u[i].dev, u[i].inode, 0, (size + kPg - 1) & ~(kPg - 1)};
    total += T.shm[o].size;
    i = j;
  }
  uint64_t base = reserve(total);
  char path[4096];
  uint64_t at = base;
  for (uint32_t i = 0, o = 0; i < n; o++) {
    uint32_t j = i;
    while (j < n && u[j].dev == u[i].dev && u[j].inode == u[i].inode) j++;
    ShmObj& ob = T.shm[o];
    const amber_view& v0 = T.img[u[i].img].v;
    str_of(v0, v0.regions[u[i].reg].path, path, sizeof path);
    bool noreserve = false;
    for (uint32_t k = i; k < j; k++) noreserve |= (T.img[u[k].img].v.regions[u[k].reg].vmflags & AMBER_VM_NORESERVE) != 0;
    long a, fd = -1;
    bool filled = false;
    if (sys::seq(path, "/dev/zero (deleted)")) {
      a = sys::mmap((void*)at, ob.size, sys::PROT_R_ | sys::PROT_W_,
                    sys::MAP_SHARED_ | sys::MAP_ANON_ | sys::MAP_FIXED_ | (noreserve ? sys::MAP_NORESERVE_ : 0), -1, 0);
    } else {
      fd = file_of_descriptors(ob.dev, ob.inode);
      filled = fd >= 0;  // its bytes are the file's, written by fd/file.cc
      if (fd < 0) fd = remake(path, ob.size);
      a = fd < 0 ? fd : sys::mmap((void*)at, ob.size, sys::PROT_R_ | sys::PROT_W_, sys::MAP_SHARED_ | sys::MAP_FIXED_, (int)fd, 0);
      if (fd >= 0) sys::close((int)fd);
    }
    if (a != (long)at) {
      warn_obj(path, "cannot be made again", a < 0 ? a : -22);
      ob.addr = 0;  // its regions are mapped as regions.cc maps them: private copies
      i = j;
      at += ob.size;
      continue;
    }
    ob.addr = at;
    // Its bytes: from the regions that map it, each range once (the first image that stored it).
    uint64_t done_lo = 0, done_hi = 0;
    for (uint32_t k = i; k < j && !filled; k++) {
      const amber_view& v = T.img[u[k].img].v;
      const amber_region& r = v.regions[u[k].reg];
      uint64_t lo = r.file_off, hi = r.file_off + (r.end - r.start);
      if (lo >= done_lo && hi <= done_hi) continue;
      int img = image_fd((int)u[k].img);
      for (uint32_t c = r.first_chunk; c < r.first_chunk + r.nchunks; c++) {
        const amber_chunk& ch = v.chunks[c];
        void* dst = (void*)(at + r.file_off + (ch.addr - r.start));
        long e = sys::pread_all(img, dst, ch.len, ch.file_off);
        amber_err err{};
        if (e < 0 || !amber_check_chunk(&ch, dst, &err)) {
          sys::Out(S.image, sizeof S.image).s(T.img[u[k].img].path);
          if (e < 0) die(EXIT_IMAGE, "image is truncated", nullptr, 0, ch.file_off);
          die_img(err);
        }
      }
      if (done_hi == 0 || lo < done_lo) done_lo = lo;
      if (hi > done_hi) done_hi = hi;
    }
    at += ob.size;
    i = j;
  }
  T.nshm = nobj;
  images_close();
}

bool shmem_keeps(uint64_t s, uint64_t e) {
  for (uint32_t i = 0; i < S.nshm; i++)
    if (S.shm[i].addr && overlaps(s, e, S.shm[i].addr, S.shm[i].addr + S.shm[i].size)) return true;
  return false;
}

bool shmem_map(const amber_region& r, int prot, long* addr) {
  if (!(r.flags & AMBER_REG_SHARED) || !r.inode) return false;
  for (uint32_t i = 0; i < S.nshm; i++) {
    const ShmObj& ob = S.shm[i];
    if (ob.dev != r.dev || ob.inode != r.inode || !ob.addr) continue;
    uint64_t len = r.end - r.start;
    if (r.file_off + len > ob.size) return false;
    *addr = sys::mremap((void*)(ob.addr + r.file_off), 0, len, 1 /*MREMAP_MAYMOVE*/ | 2 /*MREMAP_FIXED*/, (void*)r.start);
    if (*addr == (long)r.start && prot != (sys::PROT_R_ | sys::PROT_W_)) sys::mprotect((void*)r.start, len, prot);
    return true;
  }
  return false;
}

void shmem_release() {
  for (uint32_t i = 0; i < S.nshm; i++)
    if (S.shm[i].addr) sys::munmap((void*)S.shm[i].addr, S.shm[i].size);
}

}  // namespace rs
#endif  // AMBER_RESTORER
