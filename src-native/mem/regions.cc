// Memory: the process's mappings (amber_region) and the bytes that cannot be got back otherwise
// (amber_chunk: page-aligned runs of stored pages, each with its checksum).
//
// Capture (agent, threads parked): /proc/self/maps gives the regions; for each, pagemap says
// which pages exist. Not stored: untouched anonymous pages (not present), zero pages of memory
// restored anonymous, unmodified pages of private file mappings (still the file's page), shared
// file mappings (the file holds them), the kernel's special mappings (mem/vdso.cc), the agent's
// scratch (NODATA), and the dead part of the two stacks whose stack pointer we know. memfd, SysV
// shm and deleted files keep all their bytes (ALLDATA): they live nowhere else.
//
// Restore (restorer, stage 3, from the blob): everything else unmapped first, then every region
// mapped at its address with MAP_FIXED_NOREPLACE (from its file, or anonymous) and its chunks
// read straight into place, each checked against its checksum. Stage 1 refuses an image whose
// mapped files changed (size, mtime) or are gone: their unsaved pages would differ.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "agent/agent.h"
#include "agent/capture.h"

namespace amber {
namespace {

constexpr uint64_t kPage = AMBER_PAGE_SIZE;
constexpr uint64_t kPagemapPresent = 1ull << 63, kPagemapSwapped = 1ull << 62, kPagemapFile = 1ull << 61;
constexpr size_t kPagemapBatch = 65536;  // entries read per pread
// Set on a region whose smaps entry counts no resident and no swapped page: nothing of it can be
// stored (a 1 TiB MAP_NORESERVE reservation is not walked through pagemap). Agent-only, cleared
// before the record is written.
constexpr uint64_t kUntouched = 1ull << 63;


bool page_is_zero(const void* p) {
  const uint64_t* w = static_cast<const uint64_t*>(p);
  for (size_t i = 0; i < kPage / 8; i += 8) {
    if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7]) return false;
  }
  return true;
}

bool ends_with(const char* s, size_t n, const char* suf) {
  size_t m = sys::slen(suf);
  return n >= m && memcmp(s + n - m, suf, m) == 0;
}

amber_region* next_region(Capture& c) {
  if (c.nregions >= c.cap_regions) { c.fail(-E2BIG, "more memory regions than /proc/self/maps listed"); return nullptr; }
  return &c.regions[c.nregions++];
}

// One line of /proc/self/maps -> a region (possibly split around the scratch mapping).
long add_region(Capture& c, uint64_t start, uint64_t end, const char* perms, uint64_t off, uint64_t dev,
                uint64_t inode, const char* path, size_t plen) {
  amber_region r;
  memset(&r, 0, sizeof r);
  r.start = start;
  r.end = end;
  r.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
  if (perms[3] == 's') r.flags |= AMBER_REG_SHARED;
  r.file_off = off;
  r.inode = inode;
  // The object's identity as stat(2) encodes it (a regular file's is overwritten by its stat below):
  // the same shared memory object in several processes has the same (dev, inode).
  r.dev = dev;
  if (plen && path[0] == '[') {
    r.flags |= vdso_flag_of(path, plen);
    if (plen == 6 && !memcmp(path, "[heap]", 6)) r.flags |= AMBER_REG_HEAP;
    else if (plen == 7 && !memcmp(path, "[stack]", 7)) r.flags |= AMBER_REG_STACK;
  } else if (plen >= 6 && !memcmp(path, "/[aio]", 6) && (r.flags & AMBER_REG_SHARED) && aio_ring_ours(start)) {
    r.flags |= AMBER_REG_AIO | AMBER_REG_ALLDATA;  // a context of ours (mem/aio.cc), made again at restart
  } else if (plen && path[0] == '/' && inode) {
    bool deleted = ends_with(path, plen, " (deleted)");
    // memfd and SysV shm show as deleted files; their pages live nowhere else.
    if (deleted || sys::sstarts(path, "/memfd:") || sys::sstarts(path, "/SYSV")) {
      r.flags |= AMBER_REG_DELETED | AMBER_REG_ALLDATA;
    } else {
      char* p = c.tmp;
      size_t n = plen < 4095 ? plen : 4095;
      memcpy(p, path, n);
      p[n] = 0;
      sys::kstat st{};
      if (sys::fstatat(-100, p, &st, 0) == 0 && st.st_ino == inode && (st.st_mode & S_IFMT) == S_IFREG) {
        r.flags |= AMBER_REG_FILE;
        r.dev = st.st_dev;
        r.file_size = (uint64_t)st.st_size;
        r.mtime_sec = (int64_t)st.st_mtime_;
        r.mtime_nsec = (int64_t)st.st_mtime_nsec;
      } else {
        // Replaced or not a regular file (a device mapping): keep the bytes themselves.
        r.flags |= AMBER_REG_ALLDATA;
      }
    }
  }
  if ((r.flags & AMBER_REG_SHARED) && !(r.flags & AMBER_REG_FILE)) r.flags |= AMBER_REG_ALLDATA;
  r.path = c.str.add(path, plen);
  sysvshm_note(r, path, (uint32_t)plen);  // a removed SysV segment is named (ipc/sysvshm.cc)
  // The agent's own mappings (the scratch, the writer's string space): their ranges, and only
  // they, carry no data. Sorted, disjoint; a line may hold both (the kernel merges neighbours).
  uint64_t own[2][2] = {{(uint64_t)g.scratch, (uint64_t)g.scratch + g.scratch_len}, {0, 0}};
  if (c.str.grows) { own[1][0] = (uint64_t)c.str.buf; own[1][1] = own[1][0] + c.str.cap; }
  if (own[1][0] && own[1][0] < own[0][0]) {
    uint64_t t0 = own[0][0], t1 = own[0][1];
    own[0][0] = own[1][0]; own[0][1] = own[1][1]; own[1][0] = t0; own[1][1] = t1;
  }
  uint64_t cur = start;
  if (!(r.flags & AMBER_REG_FILE)) {
    for (int k = 0; k < 2; k++) {
      uint64_t s0 = own[k][0], s1 = own[k][1];
      if (!s0 || s1 <= cur || s0 >= end) continue;
      if (cur < s0) {
        amber_region* lo = next_region(c);
        if (!lo) return c.failed;
        *lo = r;
        lo->start = cur;
        lo->end = s0;
      }
      amber_region* mid = next_region(c);
      if (!mid) return c.failed;
      *mid = r;
      mid->start = cur > s0 ? cur : s0;
      mid->end = end < s1 ? end : s1;
      mid->flags = AMBER_REG_NODATA;
      cur = mid->end;
    }
  }
  if (cur >= end) return 0;
  amber_region* slot = next_region(c);
  if (!slot) return c.failed;
  *slot = r;
  slot->start = cur;
  return 0;
}

// Does the restorer map this region from its file (so a zero page may still differ from it)?
bool restores_from_file(const amber_region& r) { return (r.flags & AMBER_REG_FILE) && !(r.flags & AMBER_REG_ALLDATA); }

bool region_has_data(const amber_region& r) {
  if (r.flags & (AMBER_REG_VDSO | AMBER_REG_VVAR | AMBER_REG_VVAR_VCLOCK | AMBER_REG_VSYSCALL | AMBER_REG_NODATA))
    return false;
  if ((r.flags & AMBER_REG_SHARED) && (r.flags & AMBER_REG_FILE)) return false;
  return true;
}

long add_chunk(Capture& c, uint32_t region, uint64_t addr, uint64_t len) {
  // Extend the previous chunk when contiguous (same region, under the size limit).
  if (c.nchunks) {
    amber_chunk& p = c.chunks[c.nchunks - 1];
    if (p.region == region && p.addr + p.len == addr && p.len + len <= AMBER_CHUNK_MAX) {
      p.len += len;
      p.stored_len = p.len;
      return 0;
    }
  }
  if (c.nchunks >= c.cap_chunks) return c.fail(-E2BIG, "more chunks than the agent's scratch can list");
  amber_chunk& k = c.chunks[c.nchunks++];
  memset(&k, 0, sizeof k);
  k.addr = addr;
  k.len = len;
  k.stored_len = len;
  k.region = region;
  return 0;
}

// Below a stack pointer nothing is live: a restored thread resumes at its saved context, and the
// frames above it are all it will ever return through. Only applied where we know the region is
// that thread's stack — the main thread on [stack], and our own checkpoint thread — not to other
// threads, whose stacks may be anywhere (an application-provided stack inside a heap, say).
uint64_t dead_below(const amber_region& r) {
  for (uint32_t t = 0; t < g.nslots; t++) {
    const amber_thread& th = g_slots[t].rec;
    bool mine = (th.flags & AMBER_THR_MAIN) ? (r.flags & AMBER_REG_STACK) != 0 : (th.flags & AMBER_THR_CKPT) != 0;
    uint64_t sp = th.ctx.rsp;
    if (mine && sp > r.start && sp <= r.end) return (sp - 256) & ~(kPage - 1);
  }
  return 0;
}

// Decide which pages of region i are stored; appends chunks.
long plan_region(Capture& c, uint32_t i, int pm_fd, uint64_t* pm) {
  amber_region& r = c.regions[i];
  r.first_chunk = c.nchunks;
  r.nchunks = 0;
  bool untouched = r.vmflags & kUntouched;
  r.vmflags &= ~kUntouched;
  if (!region_has_data(r)) return 0;
  if (untouched && !(r.flags & AMBER_REG_ALLDATA)) return 0;  // nothing present: nothing pagemap could list
  uint64_t dead = (r.flags & AMBER_REG_FILE) ? 0 : dead_below(r);
  bool all = r.flags & AMBER_REG_ALLDATA;
  bool file_private = restores_from_file(r);
  bool unreadable = !(r.prot & PROT_READ);
  bool opened = false;
  uint64_t npages = (r.end - r.start) / kPage;
  for (uint64_t p0 = 0; p0 < npages; p0 += kPagemapBatch) {
    uint64_t n = npages - p0 < kPagemapBatch ? npages - p0 : kPagemapBatch;
    if (!all) {
      long rr = sys::pread_all(pm_fd, pm, n * 8, (r.start / kPage + p0) * 8);
      if (rr < 0) return c.fail(rr, "cannot read /proc/self/pagemap");
    }
    for (uint64_t k = 0; k < n; k++) {
      uint64_t addr = r.start + (p0 + k) * kPage;
      if (addr + kPage <= dead) continue;
      if (!all) {
        uint64_t e = pm[k];
        bool present = e & (kPagemapPresent | kPagemapSwapped);
        if (!present) continue;
        if (file_private && (e & kPagemapFile) && !(e & kPagemapSwapped)) continue;  // unmodified file page
      }
      if (unreadable && !opened) {
        // e.g. data the application mprotect'ed to PROT_NONE: readable just while we copy it.
        if (sys::mprotect((void*)r.start, r.end - r.start, r.prot | PROT_READ) < 0)
          return c.fail(-EACCES, "cannot read a protected region");
        opened = true;
      }
      if (!file_private && page_is_zero((const void*)addr)) continue;
      long rr = add_chunk(c, i, addr, kPage);
      if (rr < 0) return rr;
    }
  }
  r.nchunks = c.nchunks - r.first_chunk;
  if (opened && !r.nchunks) sys::mprotect((void*)r.start, r.end - r.start, r.prot);
  return 0;
}

uint64_t vm_bits(const char* p, const char* e) {
  static constexpr struct { char n[3]; uint32_t bit; } kNames[] = {
      {"nr", AMBER_VM_NORESERVE}, {"dd", AMBER_VM_DONTDUMP},   {"dc", AMBER_VM_DONTFORK},
      {"wf", AMBER_VM_WIPEONFORK}, {"lo", AMBER_VM_LOCKED},    {"lf", AMBER_VM_LOCKONFAULT},
      {"hg", AMBER_VM_HUGEPAGE},   {"nh", AMBER_VM_NOHUGEPAGE}, {"mg", AMBER_VM_MERGEABLE},
      {"sr", AMBER_VM_SEQ},        {"rr", AMBER_VM_RAND},      {"mw", AMBER_VM_MAYWRITE},
      {"de", AMBER_VM_DONTEXPAND}, {"dp", AMBER_VM_DROPPABLE},
      {"um", AMBER_VM_UFFD_MISSING}, {"uw", AMBER_VM_UFFD_WP}, {"ui", AMBER_VM_UFFD_MINOR},
      {"gd", AMBER_VM_GROWSDOWN},
  };
  uint64_t v = 0;
  while (p + 1 < e) {
    while (p < e && *p == ' ') p++;
    if (p + 2 <= e && (p + 2 == e || p[2] == ' ' || p[2] == '\n'))
      for (const auto& k : kNames)
        if (p[0] == k.n[0] && p[1] == k.n[1]) v |= k.bit;
    while (p < e && *p != ' ') p++;
  }
  return v;
}

// /proc/self/smaps, streamed (it is ~1 KiB per mapping: read in pieces, never whole): each
// entry's VmFlags go to the regions its range covers, and entries with nothing resident or
// swapped are marked untouched.
long regions_vmflags(Capture& c) {
  constexpr size_t kBuf = 64 * 1024;
  char* buf = static_cast<char*>(c.a.take(kBuf));
  if (!buf) return c.fail(-ENOMEM, "scratch exhausted");
  long fd = sys::open("/proc/thread-self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return c.fail(fd, "cannot open /proc/self/smaps");
  size_t have = 0;
  bool eof = false;
  uint64_t s = 0, e = 0, resident = 0;
  uint32_t ri = 0;
  while (!eof || have) {
    if (!eof && have < kBuf) {
      long n = sys::read((int)fd, buf + have, kBuf - have);
      if (n == -EINTR) continue;
      if (n < 0) { sys::close((int)fd); return c.fail(n, "cannot read /proc/self/smaps"); }
      if (n == 0) eof = true;
      have += (size_t)n;
    }
    size_t at = 0;
    for (;;) {
      char* ls = buf + at;
      char* le = static_cast<char*>(memchr(ls, '\n', have - at));
      if (!le) {
        if (at == 0 && (have == kBuf || eof)) le = buf + have;  // a line longer than the buffer, or the last
        else break;
      }
      const char* q = ls;
      if ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')) {
        s = sys::parse_u(&q, 16);
        q++;
        e = sys::parse_u(&q, 16);
        resident = 0;
      } else if (sys::sstarts(ls, "Rss:") || sys::sstarts(ls, "Swap:")) {
        while (q < le && (*q < '0' || *q > '9')) q++;
        resident += sys::parse_u(&q, 10);
      } else if (sys::sstarts(ls, "VmFlags:")) {
        uint64_t v = vm_bits(ls + 8, le);
        if (!resident) v |= kUntouched;
        while (ri < c.nregions && c.regions[ri].end <= s) ri++;
        for (uint32_t k = ri; k < c.nregions && c.regions[k].start < e; k++) c.regions[k].vmflags = v;
      }
      at = (size_t)(le - buf) + (le < buf + have ? 1 : 0);
      if (at >= have) break;
    }
    memmove(buf, buf + at, have - at);
    have -= at;
  }
  sys::close((int)fd);
  return 0;
}

}  // namespace

long regions_capture(Capture& c) {
  size_t len = 0;
  char* buf = c.read_all("/proc/thread-self/maps", &len);
  if (!buf) return c.failed;
  // Room for every path now (they are shorter than the listing): the string space must not move
  // while the listing that describes it is being read.
  char* strings_at = c.str.buf;
  if (!c.str.ensure(len)) return c.fail(-ENOMEM, "the image's string space cannot grow");
  if (c.str.buf != strings_at && !(buf = c.read_all("/proc/thread-self/maps", &len))) return c.failed;
  uint32_t lines = 1;
  for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
  // The text is kept (taken) while the table sized from it is filled; a region may split in
  // five around our two own mappings.
  c.a.take(len + 1);
  c.cap_regions = lines + 4;
  c.regions = static_cast<amber_region*>(c.a.take(sizeof(amber_region) * c.cap_regions));
  if (!c.regions) return c.fail(-ENOMEM, "scratch exhausted: too many memory regions");
  c.nregions = 0;
  const char* p = buf;
  while (*p) {
    const char* line_end = p;
    while (*line_end && *line_end != '\n') line_end++;
    const char* q = p;
    uint64_t start = sys::parse_u(&q, 16);
    q++;  // '-'
    uint64_t end = sys::parse_u(&q, 16);
    q++;
    const char* perms = q;
    q += 5;
    uint64_t off = sys::parse_u(&q, 16);
    q++;
    uint64_t major = sys::parse_u(&q, 16); q++;
    uint64_t minor = sys::parse_u(&q, 16); q++;
    // new_encode_dev, what stat(2) reports
    uint64_t dev = (minor & 0xff) | (major << 8) | ((minor & ~0xffull) << 12);
    uint64_t inode = sys::parse_u(&q, 10);
    while (q < line_end && *q == ' ') q++;
    long r = add_region(c, start, end, perms, off, dev, inode, q, (size_t)(line_end - q));
    if (r < 0) return r;
    p = *line_end ? line_end + 1 : line_end;
  }
  return regions_vmflags(c);
}

long chunks_plan(Capture& c, PlanMode mode) {
  uint64_t* pm = static_cast<uint64_t*>(c.a.take(kPagemapBatch * 8));
  if (!pm) return c.fail(-ENOMEM, "scratch exhausted");
  // (kPlanWriter: each chunk's source address too)
  size_t per = sizeof(amber_chunk) + (mode == kPlanWriter ? 8 : 0);
  c.cap_chunks = (uint32_t)(c.a.room() / 2 / per);
  c.nchunks = 0;
  c.chunks = static_cast<amber_chunk*>(c.a.take(sizeof(amber_chunk) * c.cap_chunks));
  if (!c.chunks) return c.fail(-ENOMEM, "scratch exhausted");
  c.chunk_src = nullptr;
  if (mode == kPlanWriter && !(c.chunk_src = static_cast<uint64_t*>(c.a.take(8ull * c.cap_chunks))))
    return c.fail(-ENOMEM, "scratch exhausted");
  long fd = sys::open("/proc/thread-self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return c.fail(fd, "cannot open /proc/self/pagemap");
  long r = 0;
  c.pages_total = 0;
  uint32_t p = 0;  // next of c.pre
  for (uint32_t i = 0; i < c.nregions && r >= 0; i++) {
    amber_region& reg = c.regions[i];
    c.pages_total += (reg.end - reg.start) / kPage;
    bool pre = mode != kPlanAll && not_copied_on_fork(reg);
    if (mode == kPlanNotCopied && !pre) {
      // The writer plans it, in its own copy (kUntouched stays for it).
      reg.first_chunk = c.nchunks;
      reg.nchunks = 0;
      continue;
    }
    if (mode == kPlanWriter && pre) {
      // Planned, and its bytes copied, before the fork.
      reg.first_chunk = c.nchunks;
      while (p < c.npre && c.pre[p].region == i) {
        if (c.nchunks >= c.cap_chunks) { r = c.fail(-E2BIG, "more chunks than the agent's scratch can list"); break; }
        c.chunk_src[c.nchunks] = c.pre_src[p];
        c.chunks[c.nchunks++] = c.pre[p++];
      }
      reg.nchunks = c.nchunks - reg.first_chunk;
      continue;
    }
    uint32_t from = c.nchunks;
    r = plan_region(c, i, (int)fd, pm);
    if (c.chunk_src)
      for (uint32_t k = from; k < c.nchunks; k++) c.chunk_src[k] = c.chunks[k].addr;
  }
  sys::close((int)fd);
  return r;
}

void regions_reprotect(Capture& c) {
  for (uint32_t i = 0; i < c.nregions; i++) {
    amber_region& r = c.regions[i];
    if (!(r.prot & PROT_READ) && r.nchunks) sys::mprotect((void*)r.start, r.end - r.start, r.prot);
  }
}

}  // namespace amber
#endif  // AMBER_AGENT

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
bool is_special(const amber_region& r) {
  return r.flags & (AMBER_REG_VDSO | AMBER_REG_VVAR | AMBER_REG_VVAR_VCLOCK | AMBER_REG_VSYSCALL);
}

// Copies n bytes with the string instruction: on CPUs with fast strings (ERMS/FSRM) it moves whole
// cache lines, as fast as any vector loop, in three instructions (the restorer has no libc).
inline void copy_bytes(void* d, const void* s, uint64_t n) {
  asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

// Runs of chunks read in one go: contiguous in memory and in the file, at most this long. The
// run's pages are allocated first, in one call (MADV_POPULATE_WRITE): faulting them in one at a
// time costs a trap each. 8 MiB keeps what was just allocated warm for the copy that follows.
constexpr uint64_t kRunMax = 8u << 20;

// A run's bytes through the bounce buffer (the maps buffer of the blob, free while the regions
// are mapped, at least AMBER_CHUNK_MAX long): each chunk is read into it and checked there, while
// it is in the cache, then copied to its place. Reading straight into the final pages and hashing
// them there touches every page twice from two sides (the kernel's copy, then the checksum) and
// reads the bytes back from memory; here each final page is written once, by the copy. Measured on
// the CI VM, 1 GiB of 4 KiB pages: 3.8-5.1 s straight in vs 2.3-3.1 s through the buffer.
// False when no run could be populated (a kernel before 5.14 refuses the advice): the caller reads
// in place then, as before.
bool read_run_bounced(uint32_t i, uint32_t j, uint64_t len) {
  const amber_chunk* c = S.v.chunks;
  if (S.maps_len < AMBER_CHUNK_MAX) return false;
  if (sys::madvise((void*)c[i].addr, len, 23 /*MADV_POPULATE_WRITE*/) < 0) return false;
  char* bounce = S.blob + S.maps_at;
  for (uint32_t k = i; k < j;) {
    // Whole chunks (each at most AMBER_CHUNK_MAX, so at least one fits): each is checked alone.
    uint32_t m = k + 1;
    uint64_t n = c[k].len;
    while (m < j && n + c[m].len <= S.maps_len) n += c[m++].len;
    long e = sys::pread_all(S.imgfd, bounce, n, c[k].file_off);
    if (e < 0) die(EXIT_IMAGE, e == -61 ? "image is truncated" : "cannot read image data", nullptr, e == -61 ? 0 : e, c[k].file_off);
    for (uint32_t q = k; q < m; q++) {
      amber_err err{};
      if (!amber_check_chunk(&c[q], bounce + (c[q].file_off - c[k].file_off), &err)) die_img(err);
    }
    copy_bytes((void*)c[k].addr, bounce, n);
    k = m;
  }
  return true;
}

void read_chunks(const amber_region& r) {
  uint32_t i = r.first_chunk, end = r.first_chunk + r.nchunks;
  while (i < end) {
    // One run: chunks contiguous both in memory and in the file.
    uint32_t j = i + 1;
    uint64_t len = S.v.chunks[i].len;
    while (j < end && len + S.v.chunks[j].len <= kRunMax && S.v.chunks[j].addr == S.v.chunks[j - 1].addr + S.v.chunks[j - 1].len &&
           S.v.chunks[j].file_off == S.v.chunks[j - 1].file_off + S.v.chunks[j - 1].len) {
      len += S.v.chunks[j].len;
      j++;
    }
    if (!read_run_bounced(i, j, len)) {
      // In place: one pread for the run, then each chunk checked where it landed.
      long e = sys::pread_all(S.imgfd, (void*)S.v.chunks[i].addr, len, S.v.chunks[i].file_off);
      if (e < 0) die(EXIT_IMAGE, e == -61 ? "image is truncated" : "cannot read image data", nullptr, e == -61 ? 0 : e, S.v.chunks[i].file_off);
      for (uint32_t k = i; k < j; k++) {
        amber_err err{};
        if (!amber_check_chunk(&S.v.chunks[k], (const void*)S.v.chunks[k].addr, &err)) die_img(err);
      }
    }
    i = j;
  }
}
void region_warn(const amber_region& r, const char* what, long err) {
  char buf[400];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: process ").i(S.v.proc->app_pid).s(": region ").x(r.start).s("-").x(r.end).s(": ").s(what);
  if (err) o.s(" (errno ").i(-err).s(")");
  o.c('\n');
  sys::write_all(2, buf, o.len);
}

// The advice the region carried (smaps VmFlags), given again. A kernel that does not know one
// (an older one) refuses it: said, the region is otherwise whole.
void advise(const amber_region& r) {
  if (!r.vmflags) return;
  // (no table of pairs: the restorer has no relocations, and these are few)
  uint64_t v = r.vmflags;
  uint64_t len = r.end - r.start;
  auto one = [&](uint64_t bit, int adv, const char* name) {
    if (!(v & bit)) return;
    long e = sys::madvise((void*)r.start, len, adv);
    if (e < 0) region_warn(r, name, e);
  };
  one(AMBER_VM_DONTDUMP, 16, "cannot set MADV_DONTDUMP again");
  one(AMBER_VM_DONTFORK, 10, "cannot set MADV_DONTFORK again");
  one(AMBER_VM_WIPEONFORK, 18, "cannot set MADV_WIPEONFORK again");
  one(AMBER_VM_HUGEPAGE, 14, "cannot set MADV_HUGEPAGE again");
  one(AMBER_VM_NOHUGEPAGE, 15, "cannot set MADV_NOHUGEPAGE again");
  one(AMBER_VM_MERGEABLE, 12, "cannot set MADV_MERGEABLE again");
  one(AMBER_VM_SEQ, 2, "cannot set MADV_SEQUENTIAL again");
  one(AMBER_VM_RAND, 1, "cannot set MADV_RANDOM again");
}
}  // namespace

// Stage 1: files the image maps must still be the same files.
void regions_check_files() {
  char path[4096];
  for (uint32_t i = 0; i < S.v.nregions; i++) {
    const amber_region& r = S.v.regions[i];
    if (!(r.flags & AMBER_REG_FILE) || (r.flags & AMBER_REG_ALLDATA)) continue;
    str_of(S.v, r.path, path, sizeof path);
    sys::kstat st{};
    long e = sys::fstatat(-100, path, &st, 0);
    if (e < 0) die(EXIT_HOST, "a file the image maps is missing:", path, e);
    if ((uint64_t)st.st_size != r.file_size || (int64_t)st.st_mtime_ != r.mtime_sec || (int64_t)st.st_mtime_nsec != r.mtime_nsec)
      die(EXIT_HOST, "a file the image maps changed since the checkpoint:", path);
  }
}

// Stage 3: everything but the blob and the kernel's special mappings goes.
void unmap_everything_else() {
  char* buf = S.blob + S.maps_at;
  // Collect first, unmap after: unmapping while parsing would change the text under us.
  struct R { uint64_t s, e; };
  uint64_t half = S.maps_len / 2;
  R* list = reinterpret_cast<R*>(buf + half);
  uint64_t n = 0, cap = half / sizeof(R);
  uint64_t b0 = (uint64_t)S.blob, b1 = b0 + S.blob_len;
  each_mapping(buf, half, [&](uint64_t s, uint64_t e, const char* nm) {
    if (overlaps(s, e, b0, b1) || shmem_keeps(s, e)) return;
    if (sys::seq(nm, "[vdso]") || sys::seq(nm, "[vvar]") || sys::seq(nm, "[vvar_vclock]") || sys::seq(nm, "[vsyscall]"))
      return;
    if (n == cap) die(EXIT_SYSTEM, "the restorer has more mappings than its list holds");
    list[n++] = R{s, e};
  });
  for (uint64_t i = 0; i < n; i++) sys::munmap((void*)list[i].s, list[i].e - list[i].s);
}

void regions_map() {
  char path[4096];
  // A process that refused transparent huge pages refuses them before its memory is filled, so
  // that filling it (below) does not give it any (process_restore_mm sets it again, harmlessly).
  if (S.v.pext && (S.v.pext->mm_state & AMBER_MM_VALID) && (S.v.pext->mm_state & AMBER_MM_THP_DISABLE))
    sys::prctl(41 /*PR_SET_THP_DISABLE*/, 1, 0, 0, 0);
  for (uint32_t i = 0; i < S.v.nregions; i++) {
    const amber_region& r = S.v.regions[i];
    if (is_special(r)) continue;
    uint64_t len = r.end - r.start;
    int prot = (int)r.prot | (r.nchunks ? sys::PROT_W_ | sys::PROT_R_ : 0);
    long a;
    // MAP_NORESERVE as it was: a huge sparse reservation must not be charged in full now.
    int noreserve = (r.vmflags & AMBER_VM_NORESERVE) ? sys::MAP_NORESERVE_ : 0;
    // A shared memory object made before the fork (mem/shmem.cc): its bytes are in it already.
    bool object = !(r.flags & AMBER_REG_AIO) && (sysvshm_map(i, &a) || shmem_map(r, (int)r.prot, &a));
    if (object) {
      prot = (int)r.prot;
    } else if ((r.flags & AMBER_REG_FILE) && !(r.flags & AMBER_REG_ALLDATA)) {
      bool shared = r.flags & AMBER_REG_SHARED;
      str_of(S.v, r.path, path, sizeof path);
      // A shared mapping keeps the access its file was opened with (VmFlags mw), not just its
      // current protection: the program may mprotect a read-only view of a file it opened O_RDWR
      // to writable, which needs the file open for writing.
      bool rw = shared && ((r.prot & sys::PROT_W_) || (r.vmflags & AMBER_VM_MAYWRITE));
      long fd = sys::open(path, (rw ? sys::O_RDWR_ : sys::O_RDONLY_) | sys::O_CLOEXEC_);
      if (fd < 0) die(EXIT_HOST, "cannot open mapped file", path, fd);
      a = sys::mmap((void*)r.start, len, prot,
                    (shared ? sys::MAP_SHARED_ : sys::MAP_PRIVATE_) | sys::MAP_FIXED_NOREPLACE_ | noreserve, (int)fd, r.file_off);
      sys::close((int)fd);
    } else {
      // MAP_DROPPABLE is a mapping type of its own (the kernel may drop its pages under pressure).
      int type = (r.flags & AMBER_REG_SHARED) ? sys::MAP_SHARED_ : (r.vmflags & AMBER_VM_DROPPABLE) ? 0x08 /*MAP_DROPPABLE*/ : sys::MAP_PRIVATE_;
      int fl = type | sys::MAP_ANON_ | sys::MAP_FIXED_NOREPLACE_ | noreserve;
      // Any region that grows down (a green-thread stack made with MAP_GROWSDOWN, not only the
      // main [stack]) keeps growing on a touch below it.
      if ((r.flags & AMBER_REG_STACK) || (r.vmflags & AMBER_VM_GROWSDOWN)) fl |= sys::MAP_GROWSDOWN_;
      if (r.flags & AMBER_REG_NODATA) fl |= sys::MAP_NORESERVE_;
      a = sys::mmap((void*)r.start, len, prot, fl, -1, 0);
    }
    if (a != (long)r.start) {
      char where[64];
      sys::Out(where, sizeof where).x(r.start).s("-").x(r.end);
      die(EXIT_SYSTEM, "cannot map region", where, a < 0 ? a : -17);
    }
    // The advice before the bytes: a region that asked for huge pages (MADV_HUGEPAGE) is filled
    // with them now, 512 times fewer pages to allocate and map than after the fact (and what it
    // had at the checkpoint); none of the others depends on the contents.
    advise(r);
    if (r.nchunks && !object) read_chunks(r);
    if (prot != (int)r.prot) sys::mprotect((void*)r.start, len, (int)r.prot);
    if (r.flags & AMBER_REG_AIO) aio_adopt(r);  // the saved ring, read above, becomes a context again
  }
}

// After the limits are back (RLIMIT_MEMLOCK bounds what an unprivileged process may lock): the
// regions that were locked are locked again, as far as the limit allows; what it refuses is said.
void regions_lock() {
  for (uint32_t i = 0; i < S.v.nregions; i++) {
    const amber_region& r = S.v.regions[i];
    if (is_special(r) || !(r.vmflags & (AMBER_VM_LOCKED | AMBER_VM_LOCKONFAULT))) continue;
    long e = (r.vmflags & AMBER_VM_LOCKONFAULT)
                 ? sys::sc3(325 /*mlock2*/, (long)r.start, (long)(r.end - r.start), 1 /*MLOCK_ONFAULT*/)
                 : sys::sc2(149 /*mlock*/, (long)r.start, (long)(r.end - r.start));
    if (e < 0) region_warn(r, "cannot lock it in memory again (mlock; RLIMIT_MEMLOCK here is too small?): it stays unlocked", e);
  }
}
}  // namespace rs
#endif
