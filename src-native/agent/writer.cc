// The image writer (format: image/format.h). Runs on the checkpoint thread while every other
// thread is parked in the suspend handler, so: raw syscalls only, all working memory from the
// agent's scratch mapping (recorded NODATA in the image), no malloc, no stdio.
//
// What goes into an image is decided by the capture half of each kind of state (fd/, mem/,
// proc/, thread/: src-native/README.md), each of which also holds the matching rebuild; this file
// only orders them and lays out the file: header page, metadata sections, chunk data, trailer.
// What is stored (DESIGN "Image"): every page that cannot be got back otherwise (mem/regions.cc).
#include <fcntl.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <sys/mman.h>
#include <cpuid.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "image/validate.h"  // the checksums, shared with the restorer and the reader
#include "sys/sys.h"

namespace amber {
namespace {

constexpr uint64_t kPage = AMBER_PAGE_SIZE;
constexpr size_t kMaxWriteRun = 64u << 20;
// The STRINGS section (paths, in-flight pipe and socket bytes, epoll lists, pty output) starts at
// this size in a mapping of its own and grows as needed (socket queues of several MiB each are
// ordinary): only the format's 4 GiB bound, or the system's memory, fails a checkpoint.
constexpr uint32_t kStrings = 16u << 20;

void fill_cpu(amber_header& h) {
  unsigned a, b, cc, d;
  __cpuid(1, a, b, cc, d);
  h.cpuid1_ecx = cc;
  h.cpuid1_edx = d;
  __cpuid_count(7, 0, a, b, cc, d);
  h.cpuid7_ebx = b;
  h.cpuid7_ecx = cc;
  if (h.cpuid1_ecx & (1u << 27)) {  // OSXSAVE
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    h.xcr0 = ((uint64_t)hi << 32) | lo;
    __cpuid_count(0xd, 0, a, b, cc, d);
    h.xsave_size = b;
  }
}

void put_section(char* meta, size_t& off, uint32_t type, uint32_t count, const void* data, size_t size) {
  amber_section s{type, count, (size + 7) & ~size_t(7)};
  memcpy(meta + off, &s, sizeof s);
  off += sizeof s;
  memcpy(meta + off, data, size);
  memset(meta + off + size, 0, s.size - size);
  off += s.size;
}

// Forked checkpoint (`forked G`, docs/PROTOCOL.md): the memory is written by a copy of this
// process made after every other piece of state is captured, while the program runs on. A fork
// copies private memory on write, so the copy sees it as it was at the fork, whatever the program
// writes afterwards (it pays a page copy only for pages it writes while the image is written).
// Before the fork, with the program stopped, only what the fork would not show the copy as it is
// now (not_copied_on_fork: shared, don't-fork and wipe-on-fork memory; and the bytes of deleted
// files and memfds, which the program may change) is planned and copied into a private buffer
// the copy inherits (stage). Everything that costs in proportion to memory (pagemap, the zero-page
// scan, checksums, the write) is the copy's: the program is stopped for the captures and the fork.
// Whether a fork may be made at all; false: the image is written stopped, as without the option,
// which is always correct (only slower).
// - userfaultfd registrations: with UFFD_FEATURE_EVENT_FORK the kernel reports the fork to the
//   program's fault handler and waits for it to be read (its thread is parked: a hang), and the
//   program's handler would see a process it never made.
// - a child subreaper: the writer, orphaned when the intermediate child exits, would become our
//   child (the nearest subreaper): the program would get its SIGCHLD and could reap it.
bool may_fork(const Capture& c) {
  for (uint32_t i = 0; i < c.nregions; i++)
    if (c.regions[i].vmflags & (AMBER_VM_UFFD_MISSING | AMBER_VM_UFFD_WP | AMBER_VM_UFFD_MINOR)) return false;
  int sub = 0;
  if (sys::sc2(157 /*prctl*/, 37 /*PR_GET_CHILD_SUBREAPER*/, (long)&sub) < 0 || sub) return false;
  return true;
}

// Checksums and writes every chunk from where its bytes are (c.chunk_src, or its address), in
// runs contiguous in memory and in the file.
long write_chunks(Capture& c, int fd, char* bounce) {
  // Our own stack keeps changing while we write, so chunks of it go through a copy (checksum and
  // bytes then agree; the frames that matter at restart, above amber_ctx_save, are stable).
  uint64_t here = (uint64_t)&fd;
  auto src = [&](uint32_t k) { return c.chunk_src ? c.chunk_src[k] : c.chunks[k].addr; };
  long r = 0;
  uint32_t i = 0;
  while (i < c.nchunks && r >= 0) {
    const amber_region& reg = c.regions[c.chunks[i].region];
    if (here >= reg.start && here < reg.end) {
      memcpy(bounce, (const void*)src(i), c.chunks[i].len);
      c.chunks[i].xxh = amber_chunk_xxh(bounce, c.chunks[i].len);
      r = sys::pwrite_all(fd, bounce, c.chunks[i].len, c.chunks[i].file_off);
      i++;
      continue;
    }
    uint32_t j = i;
    uint64_t len = 0;
    while (j < c.nchunks && len + c.chunks[j].len <= kMaxWriteRun && c.chunks[j].region == c.chunks[i].region &&
           (j == i || (c.chunks[j].addr == c.chunks[j - 1].addr + c.chunks[j - 1].len && src(j) == src(j - 1) + c.chunks[j - 1].len))) {
      c.chunks[j].xxh = amber_chunk_xxh((const void*)src(j), c.chunks[j].len);
      len += c.chunks[j].len;
      j++;
    }
    r = sys::pwrite_all(fd, (const void*)src(i), len, c.chunks[i].file_off);
    i = j;
  }
  return r;
}

// Forked, before the fork: plans the regions not copied on fork and copies their chunks, and the
// bytes of deleted files and memfds, into one private mapping (*map, *len; the writer inherits it,
// copied on write like the rest). 0 or -errno.
long stage(Capture& c, char** map, uint64_t* len) {
  long r = chunks_plan(c, kPlanNotCopied);
  if (r < 0) return r;
  uint64_t n = files_bytes(c);
  for (uint32_t k = 0; k < c.nchunks; k++) n += c.chunks[k].len;
  uint64_t* src = static_cast<uint64_t*>(c.a.take(8ull * (c.nchunks ? c.nchunks : 1)));
  if (!src) return c.fail(-ENOMEM, "scratch exhausted");
  *len = n ? n : kPage;
  long m = sys::mmap(nullptr, *len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m < 0) return c.fail(m, "cannot map memory to copy shared memory into");
  *map = reinterpret_cast<char*>(m);
  char* at = *map;
  for (uint32_t k = 0; k < c.nchunks; k++) {
    memcpy(at, (const void*)c.chunks[k].addr, c.chunks[k].len);
    src[k] = (uint64_t)at;
    at += c.chunks[k].len;
  }
  c.pre = c.chunks;
  c.pre_src = src;
  c.npre = c.nchunks;
  if (c.nextents && (r = files_stage(c, at)) < 0) return r;
  return 0;
}

// Makes the writer: returns its kernel pid here, -1 in the writer, 0 when none could be made.
//
// It must be invisible to the program: a raw clone (no libc fork: no atfork handlers of the
// program's, no pid cache), and never the program's child. A direct child could be reaped by the
// program's waitpid(-1, __WALL) and would show in /proc/self/task/*/children. So a clone (exit
// signal 0: no SIGCHLD) makes an intermediate child that clones the writer (exit signal 0) and
// exits at once; we reap the intermediate here, before any thread of the program runs, and the
// writer, orphaned, belongs to init (or a subreaper above us: may_fork refuses when that is us).
// The writer leaves our session and process group (a signal the program or a terminal sends to
// its group must not reach it) and closes every descriptor but the image file and the
// coordinator's connection (it must not hold the program's pipes, sockets or terminals open: a
// reader waiting for EOF would wait for it). It tells us its pid through a pipe only once that is
// done, so when the program resumes the writer holds nothing of the program's but memory.
// The intermediate shares our memory (CLONE_VM, with CLONE_VFORK: we wait until it has exited),
// so the memory is copied once, for the writer, not twice, and the intermediate's exit has no
// page tables to tear down: both would cost the stopped program time in proportion to its
// memory. Sharing our stack, it runs only the two raw system calls below (no call, no store: what
// the compiler makes of it is register moves), like a vfork child.
long fork_writer(int img) {  // (img: a descriptor the writer keeps, or -1)
  int pfd[2];
  if (sys::pipe2(pfd, O_CLOEXEC) < 0) return 0;
  long p = sys::sc5(sys::NR_clone, 0x100 /*CLONE_VM*/ | 0x4000 /*CLONE_VFORK*/, 0, 0, 0, 0);
  if (p == 0) {
    long q = sys::sc5(sys::NR_clone, 0, 0, 0, 0, 0);
    if (q != 0) sys::exit_group(q < 0 ? 1 : 0);
    sys::sc0(sys::NR_setsid);
    // Keep img, the coordinator's connection and the pipe's write end; close the rest.
    int keep[3] = {img, g.coord_fd, pfd[1]};
    for (int a = 0; a < 3; a++)
      for (int b = a + 1; b < 3; b++)
        if (keep[b] < keep[a]) { int t = keep[a]; keep[a] = keep[b]; keep[b] = t; }
    unsigned from = 0;
    for (int k : keep) {
      if (k < 0) continue;
      if ((unsigned)k > from) sys::close_range(from, (unsigned)k - 1);
      from = (unsigned)k + 1;
    }
    sys::close_range(from, ~0u);
    int32_t me = (int32_t)sys::getpid();
    sys::write_all(pfd[1], &me, sizeof me);
    sys::close(pfd[1]);
    return -1;
  }
  sys::close(pfd[1]);
  if (p < 0) { sys::close(pfd[0]); return 0; }
  int st = 0;
  while (sys::sc4(sys::NR_wait4, p, (long)&st, 0x40000000 /*__WALL*/, 0) == -EINTR) {}
  int32_t pid = 0;
  long n;
  do n = sys::read(pfd[0], &pid, sizeof pid);
  while (n == -EINTR);
  sys::close(pfd[0]);
  // No pid: the writer was not made or died at once (EOF): written here instead.
  return n == (long)sizeof pid && pid > 0 ? pid : 0;
}

}  // namespace

long write_body(Capture& c, amber_process* pr, const char* path, uint64_t* bytes_out, bool sync, int* writer);

long write_image(const char* path, uint64_t* bytes_out, char* err, size_t errlen, bool sync, int* writer) {
  if (writer) *writer = 0;
  Capture c{};
  c.a = Arena{g.scratch, writer_scratch_len(), 0};
  c.err = err;
  c.errlen = errlen;
  size_t scap = kStrings;
  long sm = sys::mmap(nullptr, scap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (sm == -EAGAIN) {
    // The program asked for every new mapping to be locked (mlockall MCL_FUTURE) and 16 MiB is
    // more than RLIMIT_MEMLOCK lets it lock: start small (the space grows when it must).
    scap = 256u << 10;
    sm = sys::mmap(nullptr, scap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (sm < 0) return c.fail(sm, "cannot map the image's string space");
  c.str.buf = reinterpret_cast<char*>(sm);
  c.str.cap = scap;
  c.str.grows = true;
  // Unmapped on every way out (it may have moved while growing).
  struct Unmap {
    Strings& s;
    ~Unmap() {
      sys::munmap(s.buf, s.cap);
      g.strings_map = nullptr;
    }
  } unmap{c.str};
  c.tmp = static_cast<char*>(c.a.take(8192));
  amber_process* pr = static_cast<amber_process*>(c.a.take(sizeof(amber_process)));
  c.ext = static_cast<amber_process_ext*>(c.a.take(sizeof(amber_process_ext)));
  if (!c.tmp || !pr || !c.ext) return c.fail(-ENOMEM, "scratch exhausted");
  __builtin_memset(c.ext, 0, sizeof *c.ext);
  c.str.add("", 0);  // offset 0 is the empty string
  c.files_tail = &c.files;

  // A process that changed its root directory (chroot) sees paths the restorer, outside it, does
  // not: every path in the image would name another file (when /proc is there at all). Refused.
  if (g.root_dev || g.root_ino) {
    sys::kstat rs{};
    if (sys::fstatat(-100 /*AT_FDCWD*/, "/", &rs, 0) == 0 && (rs.st_dev != g.root_dev || rs.st_ino != g.root_ino))
      return c.fail(-EPERM, "the process changed its root directory (chroot): its paths are not the restart's");
  }
  // A Landlock sandbox the process put itself in: the kernel shows a domain nowhere (no way to read
  // its rules back), and a restored process without it would run unsandboxed — a silent loss of a
  // security boundary. Refused by name. (One the launch already ran in is the restart's too.)
  if (g.landlocked)
    return c.fail(-EPERM, "the process sandboxed itself with Landlock (landlock_restrict_self): amber cannot put the sandbox back at restart");
  timers_stamp(c);  // before any timer is read (timerfds are descriptors)
  long r = fds_capture(c);  // first: before we open anything of our own
  if (r < 0) { files_release(c); return r; }
  fds_note_unrestorable(c);
  r = write_body(c, pr, path, bytes_out, sync, writer);
  files_release(c);
  // Give the scratch pages back: they are NODATA and would otherwise stay resident. (After
  // files_release, whose list lives in the scratch.)
  sys::madvise(g.scratch, writer_scratch_len(), MADV_DONTNEED);
  return r;
}

// Everything after the descriptors (whose capture opened what files_release closes).
long write_body(Capture& c, amber_process* pr, const char* path, uint64_t* bytes_out, bool sync, int* writer) {
  long r;
  if ((r = process_capture(c, *pr)) < 0) return r;
  if ((r = zombies_capture(c, *pr)) < 0) return r;
  if ((r = creds_capture(c)) < 0) return r;
  signals_capture(*pr);
  if ((r = sem_capture(c)) < 0) return r;
  if ((r = sysv_ids_capture(c)) < 0) return r;
  if ((r = threads_fs_capture(c)) < 0) return r;
  if ((r = aio_capture(c)) < 0) return r;
  if ((r = timers_capture(c, *pr)) < 0) return r;
  if ((r = regions_capture(c)) < 0) return r;
  // Listed in the image as agent memory (no data): a restarted agent unmaps what comes back.
  g.strings_map = c.str.buf;
  g.strings_len = c.str.cap;
  if (c.str.full) return c.fail(-E2BIG, "the image's string space (paths and descriptor data) cannot grow: out of memory or over 4 GiB");
  // Forked (writer): the image file is opened before the fork, the writer keeps it.
  long fd = -1;
  // (unmapped on every way out of this process; the writer exits with its copy)
  struct Staged {
    char* p = nullptr;
    uint64_t n = 0;
    ~Staged() { if (p) sys::munmap(p, n); }
  } st;
  char*& staged = st.p;
  uint64_t& staged_len = st.n;
  if (writer && may_fork(c)) {
    r = stage(c, &staged, &staged_len);
    regions_reprotect(c);  // (what stage opened to read it)
    if (r < 0) return r;
    // The image file is created by the writer, after the fork: a create may wait seconds on a
    // busy filesystem's journal, which the program must not. (One the coordinator passed is
    // open already: the writer keeps it.)
    fd = g.image_fd1 ? g.image_fd1 - 1 : -1;
    g.image_fd1 = 0;
    long w = fork_writer((int)fd);
    if (w > 0) {
      // Here: the program may run again; the rest is the writer's.
      if (fd >= 0) sys::close((int)fd);
      *writer = (int)w;
      return 0;
    }
    // The writer (or, when none could be made, this process, still stopped): every region now,
    // those not copied on fork from what stage copied.
    if (w < 0) *writer = -1;
    r = chunks_plan(c, kPlanWriter);
  } else {
    r = chunks_plan(c);
  }
  if (r < 0) { if (fd >= 0) sys::close((int)fd); regions_reprotect(c); return r; }

  // Threads: every slot is parked and has filled its record.
  amber_thread* th = static_cast<amber_thread*>(c.a.take(sizeof(amber_thread) * g.nslots));
  if (!th) { if (fd >= 0) sys::close((int)fd); regions_reprotect(c); return c.fail(-ENOMEM, "scratch exhausted"); }
  for (uint32_t i = 0; i < g.nslots; i++) th[i] = g_slots[i].rec;

  // Metadata, then layout.
  size_t meta_cap = sizeof(amber_section) * 10 + sizeof(amber_process) + sizeof(amber_process_ext) + sizeof(amber_thread) * g.nslots +
                    sizeof(amber_region) * c.nregions + sizeof(amber_chunk) * c.nchunks +
                    sizeof(amber_fd) * c.nfds + sizeof(amber_timer) * c.ntimers + sizeof(amber_extent) * c.nextents +
                    c.str.len + 64;
  // In a mapping of its own, made after the regions were listed (so not part of the image): it
  // holds the string space, which may be far larger than the scratch.
  meta_cap = (meta_cap + kPage - 1) & ~(kPage - 1);
  long mm = sys::mmap(nullptr, meta_cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mm < 0) { if (fd >= 0) sys::close((int)fd); regions_reprotect(c); return c.fail(mm, "cannot map the image's metadata buffer"); }
  char* meta = reinterpret_cast<char*>(mm);
  struct UnmapMeta { char* p; size_t n; ~UnmapMeta() { sys::munmap(p, n); } } unmap_meta{meta, meta_cap};
  char* head = static_cast<char*>(c.a.take(AMBER_HEADER_SIZE));
  if (!head) { if (fd >= 0) sys::close((int)fd); regions_reprotect(c); return c.fail(-ENOMEM, "scratch exhausted"); }
  uint64_t meta_size = meta_cap;  // upper bound known before chunk offsets are final
  meta_size = (meta_size + 7) & ~7ull;
  uint64_t data_off = (AMBER_HEADER_SIZE + meta_size + kPage - 1) & ~(kPage - 1);
  uint64_t off = data_off;
  for (uint32_t i = 0; i < c.nchunks; i++) {
    c.chunks[i].file_off = off;
    off += c.chunks[i].len;
  }
  uint64_t chunk_bytes = off - data_off;
  off = files_layout(c, off);  // the bytes of deleted files and memfds, after the memory
  uint64_t data_size = off - data_off;

  // A new file, never a link or a file someone else put there (issue 12) — or the one the
  // coordinator created so (O_EXCL, O_NOFOLLOW, 0600) and passed with `write` (ours to close).
  if (fd < 0) fd = g.image_fd1 ? g.image_fd1 - 1 : sys::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  g.image_fd1 = 0;
  if (fd < 0) { regions_reprotect(c); return c.fail(fd, "cannot create ", path); }
  // Data: checksum each chunk, write contiguous runs straight from memory.
  char* bounce = static_cast<char*>(c.a.take(AMBER_CHUNK_MAX));
  if (!bounce) { sys::close((int)fd); regions_reprotect(c); return c.fail(-ENOMEM, "scratch exhausted"); }
  r = write_chunks(c, (int)fd, bounce);
  regions_reprotect(c);
  if (r < 0) { sys::close((int)fd); return c.fail(r, "cannot write ", path); }
  amber_extent* extents = c.nextents ? files_write(c, (int)fd, bounce) : nullptr;
  if (c.failed) { sys::close((int)fd); return c.failed; }

  size_t mo = 0;
  put_section(meta, mo, AMBER_SEC_PROCESS, 1, pr, sizeof *pr);
  put_section(meta, mo, AMBER_SEC_PROCEXT, 1, c.ext, sizeof *c.ext);
  put_section(meta, mo, AMBER_SEC_THREADS, g.nslots, th, sizeof(amber_thread) * g.nslots);
  put_section(meta, mo, AMBER_SEC_REGIONS, c.nregions, c.regions, sizeof(amber_region) * c.nregions);
  put_section(meta, mo, AMBER_SEC_CHUNKS, c.nchunks, c.chunks, sizeof(amber_chunk) * c.nchunks);
  put_section(meta, mo, AMBER_SEC_FDS, c.nfds, c.fds, sizeof(amber_fd) * c.nfds);
  put_section(meta, mo, AMBER_SEC_TIMERS, c.ntimers, c.timers, sizeof(amber_timer) * c.ntimers);
  put_section(meta, mo, AMBER_SEC_STRINGS, c.str.len, c.str.buf, c.str.len);
  if (c.nextents) put_section(meta, mo, AMBER_SEC_FILEDATA, c.nextents, extents, sizeof(amber_extent) * c.nextents);
  meta_size = mo;

  amber_header& h = *reinterpret_cast<amber_header*>(head);
  memset(head, 0, AMBER_HEADER_SIZE);
  memcpy(h.magic, AMBER_IMAGE_MAGIC, 8);
  h.major = AMBER_FORMAT_MAJOR;
  h.minor = AMBER_FORMAT_MINOR;
  h.header_size = AMBER_HEADER_SIZE;
  h.arch = AMBER_ARCH_X86_64;
  h.page_size = AMBER_PAGE_SIZE;
  fill_cpu(h);
  struct { char f[6][65]; } uts;
  sys::uname(&uts);
  sys::Out(h.kernel_release, sizeof h.kernel_release).s(uts.f[2]);
  sys::Out(h.hostname, sizeof h.hostname).s(uts.f[1]);
  sys::Out(h.libc_version, sizeof h.libc_version).s(gnu_get_libc_version());
  h.vpid = g.vpid;
  h.parent_vpid = g.parent_vpid;
  h.real_pid = g.pid;
  h.generation = g.generation;
  // Format 1.4: bound to its generation (the coordinator's id) and to the program it holds.
  memcpy(h.generation_id, g.generation_id, sizeof h.generation_id);
  h.program_xxh = amber_program_xxh(c.str.buf + pr->exe.off, pr->exe.len, c.str.buf + pr->cmdline.off, pr->cmdline.len);
  sys::ktimespec now{};
  sys::clock_gettime(0, &now);
  h.time_ns = now.sec * 1000000000ll + now.nsec;
  h.meta_off = AMBER_HEADER_SIZE;
  h.meta_size = meta_size;
  h.meta_xxh = amber_meta_xxh(meta, meta_size);
  h.data_off = data_off;
  h.data_size = data_size;
  h.file_size = data_off + data_size + AMBER_TRAILER_SIZE;
  h.handoff_addr = reinterpret_cast<uint64_t>(&g_handoff);
  h.pages_total = c.pages_total;
  h.pages_stored = chunk_bytes / kPage;
  h.header_xxh = amber_header_page_xxh(head);

  amber_image_hasher ih;
  amber_image_xxh_begin(&ih, h.header_xxh, h.meta_xxh);
  for (uint32_t k = 0; k < c.nchunks; k++) amber_image_xxh_add(&ih, c.chunks[k].xxh);
  amber_trailer t;
  amber_trailer_init(&t, h.file_size, amber_image_xxh_end(&ih), c.nchunks);

  if ((r = sys::pwrite_all((int)fd, meta, meta_size, AMBER_HEADER_SIZE)) < 0 ||
      (r = sys::pwrite_all((int)fd, &t, sizeof t, data_off + data_size)) < 0 ||
      (r = sys::pwrite_all((int)fd, head, AMBER_HEADER_SIZE, 0)) < 0 ||
      (sync && (r = sys::fsync((int)fd)) < 0)) {
    sys::close((int)fd);
    return c.fail(r, "cannot write ", path);
  }
  sys::close((int)fd);
  *bytes_out = h.file_size;
  return 0;
}

}  // namespace amber
