// amber-restart: turns the images of a process tree back into running processes.
//
// A static PIE with no libc (PITFALLS 1: a glibc-linked restorer registers rseq and keeps state
// in memory it is about to unmap). This file is the driver; what each kind of state needs lives
// with its capture (fd/, mem/, proc/, thread/: src-native/README.md). Three stages:
//
//  1. In place, as the kernel loaded us: read and validate everything that can be validated
//     without touching the address space — headers, metadata, trailers, CPU features, the
//     kernel's vdso layout, the files the images map or had open. Any problem ends here with one
//     line on stderr and exit 3 (bad image) or 4 (cannot run here): nothing was started. Then,
//     for the whole tree, the objects several processes share (pipes, socket pairs, ptys, shared
//     file descriptions), and the tree is forked: each process restores its own image.
//  2. Pick a range no saved region uses (at run time, from the image itself, so no address hole
//     has to be reserved in the application), map a "blob" there, copy our own loaded segments
//     and the metadata into it and continue from the copy on a stack inside it. Our code is
//     position independent without relocations (the build checks), so a copy runs as is.
//  3. From the blob: unmap everything else, move the kernel's vvar/vdso block to the saved
//     address, map every saved region and read its chunks straight into place, put back the mm
//     fields, descriptors, signal actions, limits; recreate threads; fill the agent's hand-off;
//     timers; jump into each saved context. The agent unmaps the blob.
//
// Tables are sized from the images (rs::alloc), never fixed: a tree of thousands of processes
// and tens of thousands of descriptors restarts. The limits that remain are the host's
// (RLIMIT_NOFILE, RLIMIT_NPROC, memory) and are refused up front, naming the limit.
#include "restore/restorer.h"
#include "fd/stdio.h"

extern "C" {
[[noreturn]] void amber_switch_stack(void* sp, void (*fn)(void*), void* arg);
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
void restorer_main(uint64_t* sp);
}

namespace rs {


namespace {

constexpr uint64_t kMainStack = 256 * 1024, kMapsBuf = 1 << 20;

const char* getenv_(char** envp, const char* name) {
  size_t n = sys::slen(name);
  for (; *envp; envp++)
    if (sys::sstarts(*envp, name) && (*envp)[n] == '=') return *envp + n + 1;
  return nullptr;
}

[[noreturn]] void usage_error(const char* msg) {
  put("amber: amber-restart: ");
  put(msg);
  put("\n");
  sys::exit_group(2);
}

// ---------------------------------------------------------------------------------------------
// The command line. Large trees pass it through a descriptor (`--args-fd N`: the same words,
// each ended by a NUL, until end of file): tens of thousands of --share entries or thousands of
// image paths do not fit an argv (E2BIG).

struct Args { char** w; uint32_t n; bool check; };

char* read_all_fd(int fd, uint64_t* len_out) {
  uint64_t cap = 1 << 20, len = 0;
  long m = sys::mmap(nullptr, cap, sys::PROT_R_ | sys::PROT_W_, sys::MAP_PRIVATE_ | sys::MAP_ANON_, -1, 0);
  if (m < 0) die(EXIT_SYSTEM, "out of memory", nullptr, m);
  char* buf = reinterpret_cast<char*>(m);
  for (;;) {
    if (len + 1 >= cap) {
      long r = sys::mremap(buf, cap, cap * 2, 1 /*MAYMOVE*/, nullptr);
      if (r < 0) die(EXIT_SYSTEM, "out of memory reading the argument descriptor", nullptr, r);
      buf = reinterpret_cast<char*>(r);
      cap *= 2;
    }
    long r = sys::read(fd, buf + len, cap - 1 - len);
    if (r == -4 /*EINTR*/) continue;
    if (r < 0) die(EXIT_SYSTEM, "cannot read the argument descriptor", nullptr, r);
    if (r == 0) break;
    len += (uint64_t)r;
  }
  buf[len] = 0;
  *len_out = len;
  return buf;
}

Args gather_args(int argc, char** argv) {
  Args a{nullptr, 0, false};
  char* extra = nullptr;
  uint64_t extra_len = 0;
  for (int i = 1; i < argc; i++) {
    if (sys::seq(argv[i], "--args-fd") && i + 1 < argc) {
      const char* q = argv[++i];
      int fd = (int)sys::parse_u(&q, 10);
      if (*q || extra) usage_error("--args-fd takes one descriptor number");
      extra = read_all_fd(fd, &extra_len);
      sys::close(fd);
    }
  }
  uint64_t words = (uint64_t)argc;
  for (uint64_t k = 0; k < extra_len; k++) words += extra[k] == 0;
  if (extra_len && extra[extra_len - 1]) words++;
  a.w = alloc_n<char*>(words + 1);
  for (int i = 1; i < argc; i++) {
    if (sys::seq(argv[i], "--args-fd") && i + 1 < argc) { i++; continue; }
    a.w[a.n++] = argv[i];
  }
  for (uint64_t k = 0; k < extra_len;) {
    a.w[a.n++] = extra + k;
    while (k < extra_len && extra[k]) k++;
    k++;
  }
  return a;
}

// Two passes over the words: the first counts (so every table is allocated at its size), the
// second fills.
void parse_args(Args& a) {
  for (int pass = 0; pass < 2; pass++) {
    int nimgs = 0, next_parent = -1;
    bool next_orphan = false;
    uint32_t nshare = 0, ngroups = 0, npassed = 0;
    for (uint32_t i = 0; i < a.n; i++) {
      const char* w = a.w[i];
      bool more = i + 1 < a.n;
      if (sys::seq(w, "--check")) {
        a.check = true;
      } else if (sys::seq(w, "--help") || sys::seq(w, "-h")) {
        put("usage: amber-restart [--check] IMAGE [--parent N IMAGE]... [--share P:FD,P:FD...]...\n"
            "                     [--sockfd P:FD:N]... [--args-fd N]\n"
            "Restores the process saved in IMAGE (normally run by `amber restart`). Further images\n"
            "are restored as children of image N (0 = the first), forming the saved process tree;\n"
            "with --orphan N instead, as an orphan (forked by N through a process that exits).\n"
            "  --check    validate the images and this host without restoring\n"
            "  --share    these descriptors (image P's FD) are one open file description: one offset\n"
            "  --sockfd   P:FD:N  image P's socket FD is the connection inherited as our fd N\n"
            "  --creds    P:LIST  image P's process must have these credentials (uids, gids, capabilities, groups)\n"
            "  --args-fd  N  more of these arguments, each ended by a NUL, read from fd N\n");
        sys::exit_group(0);
      } else if (sys::seq(w, "--sockfd") && more) {
        // P:FD:N — image P's saved socket FD is the connection restart made and passed as our fd
        // N (its other end went to another tree's restorer: lib/sockets.ts).
        const char* q = a.w[++i];
        int img = (int)sys::parse_u(&q, 10);
        int32_t fd = *q == ':' ? (q++, (int32_t)sys::parse_u(&q, 10)) : -1;
        int n = *q == ':' ? (q++, (int)sys::parse_u(&q, 10)) : -1;
        if (*q || fd < 0 || n < 3) usage_error("--sockfd takes P:FD:N");
        if (pass) T.passed[npassed] = PassedSock{img, fd, n};
        npassed++;
      } else if (sys::seq(w, "--creds") && more) {
        // P:LIST — image P was written by a process of another user than the checkpoint's root,
        // into a file the coordinator made: its credentials must be LIST (lib/coordinator.ts
        // kernelCreds), which the manifest, root's, recorded from the kernel.
        const char* q = a.w[++i];
        int img = (int)sys::parse_u(&q, 10);
        if (*q != ':') usage_error("--creds takes P:LIST");
        if (pass) {
          if (img >= T.n) usage_error("--creds names no image");
          T.img[img].creds = q + 1;
        }
      } else if (sys::seq(w, "--share") && more) {
        // P:FD,P:FD,... (P: position of the image in this command line, counting from 0)
        const char* q = a.w[++i];
        while (*q) {
          int img = (int)sys::parse_u(&q, 10);
          if (*q != ':') break;
          q++;
          int32_t fd = (int32_t)sys::parse_u(&q, 10);
          if (pass) T.share[nshare] = ShareFd{ngroups, img, fd};
          nshare++;
          if (*q != ',') break;
          q++;
        }
        if (*q) usage_error("--share takes P:FD,P:FD,...");
        ngroups++;
      } else if ((sys::seq(w, "--parent") || sys::seq(w, "--orphan")) && more) {
        next_orphan = w[2] == 'o';
        const char* q = a.w[++i];
        next_parent = (int)sys::parse_u(&q, 10);
        if (*q || next_parent >= nimgs) usage_error("--parent must name an earlier image");
      } else if (w[0] == '-' && w[1] == '-') {
        usage_error("unknown option (see --help)");
      } else {
        if (nimgs > 0 && next_parent < 0) usage_error("further images need --parent N");
        if (pass) {
          Img& im = T.img[nimgs];
          im.parent = next_parent;
          im.orphan = next_orphan;
          // Absolute: messages and the hand-off must not depend on our cwd, which changes.
          char cwd[512];
          long cl = w[0] != '/' ? sys::sc2(sys::NR_getcwd, (long)cwd, sizeof cwd) : 0;
          uint64_t len = (cl > 0 ? sys::slen(cwd) + 1 : 0) + sys::slen(w);
          if (len >= sizeof S.image) {
            sys::Out(S.image, sizeof S.image).s(w);
            die(EXIT_IMAGE, "image path longer than 1023 bytes");
          }
          im.path = alloc_n<char>(len + 1);
          sys::Out o(im.path, len + 1);
          if (cl > 0) o.s(cwd).s("/");
          o.s(w);
        }
        nimgs++;
        next_parent = -1;
        next_orphan = false;
      }
    }
    if (!pass) {
      if (!nimgs) usage_error("usage: amber-restart [--check] IMAGE [--parent N IMAGE]...");
      T.n = nimgs;
      T.img = alloc_n<Img>(nimgs);
      T.share = alloc_n<ShareFd>(nshare ? nshare : 1);
      T.nshare = nshare;
      T.ngroups = ngroups;
      T.passed = alloc_n<PassedSock>(npassed ? npassed : 1);
      T.npassed = npassed;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Stage 1: validation, in place.

void check_cpu() {
  uint32_t a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  uint64_t xcr0 = 0;
  if (c & (1u << 27)) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((uint64_t)hi << 32) | lo;
  }
  if (S.hdr.xcr0 & ~xcr0) {
    char msg[120];
    sys::Out(msg, sizeof msg).s("(image XCR0 ").x(S.hdr.xcr0).s(", this CPU ").x(xcr0).s(")");
    die(EXIT_HOST, "this CPU lacks register state the image was saved with", msg);
  }
}

void open_image(Img& im) {
  sys::Out(S.image, sizeof S.image).s(im.path);
  // Issue 12: never a link, never a FIFO (O_NONBLOCK: the open itself must not block), never a
  // file another user owns or can write. lib/trust.ts checked the same before spawning us.
  long fd = sys::open(S.image, sys::O_RDONLY_ | sys::O_CLOEXEC_ | 0400000 /*O_NOFOLLOW*/ | 04000 /*O_NONBLOCK*/);
  if (fd == -40 /*ELOOP*/) die(EXIT_IMAGE, "is a symbolic link: refusing it (amber follows no link it did not make)");
  if (fd < 0) die(EXIT_IMAGE, "cannot open:", fd == -2 ? "no such file" : "open failed", fd);
  im.imgfd = (int)fd;
  sys::kstat st{};
  sys::fstat(im.imgfd, &st);
  if ((st.st_mode & sys::S_IFMT_) != sys::S_IFREG_) die(EXIT_IMAGE, "not a regular file: refusing it");
  long euid = sys::sc0(107 /*geteuid*/);
  if ((st.st_uid != 0 && st.st_uid != (uint32_t)euid) || (st.st_mode & 022) != 0)
    die(EXIT_IMAGE, "is owned by another user or writable by group or others: refusing it");
  im.file_size = (uint64_t)st.st_size;
  im.dev = st.st_dev;
  im.ino = st.st_ino;
  static char page[AMBER_HEADER_SIZE];
  memset(page, 0, sizeof page);
  sys::pread(im.imgfd, page, sizeof page, 0);
  amber_err err{};
  if (!amber_check_header(page, im.file_size, &err)) die_img(err);
  memcpy(&im.hdr, page, sizeof im.hdr);
  if (im.hdr.page_size != kPage) die(EXIT_HOST, "image page size differs from this system's");
}

// Reads the metadata into `at` (8-aligned) and checks everything but the chunks' bytes.
void load_image(Img& im, char* at, bool check_chunks, char* chunk_buf) {
  sys::Out(S.image, sizeof S.image).s(im.path);
  S.imgfd = im.imgfd;
  S.hdr = im.hdr;
  long r = sys::pread_all(im.imgfd, at, im.hdr.meta_size, im.hdr.meta_off);
  if (r < 0) die(EXIT_IMAGE, "cannot read metadata", nullptr, r, im.hdr.meta_off);
  amber_err err{};
  if (!amber_parse_meta(&im.hdr, at, im.hdr.meta_size, &S.v, &err)) die_img(err);
  amber_trailer t{};
  r = sys::pread_all(im.imgfd, &t, sizeof t, im.hdr.file_size - AMBER_TRAILER_SIZE);
  if (r < 0) die(EXIT_IMAGE, "image is truncated (no trailer)", nullptr, 0, im.hdr.file_size - AMBER_TRAILER_SIZE);
  if (!amber_check_trailer(&im.hdr, &t, &S.v, &err)) die_img(err);
  im.v = S.v;
  const amber_process& pr = *S.v.proc;
  im.ses = {pr.app_pid, pr.pgid, pr.sid, pr.tpgid, pr.ctty_rdev};
  check_cpu();
  vdso_check();
  regions_check_files();
  sysvshm_check();
  sem_check();
  sysv_ids_check();
  creds_check(im.creds);
  int k = (int)(&im - T.img);
  fds_check(k);
  im.main_idx = -1;
  for (uint32_t i = 0; i < S.v.nthreads; i++)
    if (S.v.threads[i].flags & AMBER_THR_MAIN) im.main_idx = (int)i;
  // (none when it had ended: the validator allows that only with AMBER_PROC_MAIN_EXITED)
  if (im.main_idx < 0 && !(S.v.proc->proc_flags & AMBER_PROC_MAIN_EXITED)) die(EXIT_IMAGE, "image has no main thread");
  if (!check_chunks) return;
  // --check: the chunk checksums too (every chunk read once).
  for (uint32_t i = 0; i < S.v.nchunks; i++) {
    const amber_chunk& c = S.v.chunks[i];
    long e = sys::pread_all(im.imgfd, chunk_buf, c.len, c.file_off);
    if (e < 0) die(EXIT_IMAGE, "image is truncated", nullptr, 0, c.file_off);
    if (!amber_check_chunk(&c, chunk_buf, &err)) die_img(err);
  }
  for (uint32_t i = 0; i < S.v.nextents; i++) {  // the bytes of deleted files and memfds (1.4)
    const amber_extent& x = S.v.extents[i];
    long e = sys::pread_all(im.imgfd, chunk_buf, x.len, x.file_off);
    if (e < 0) die(EXIT_IMAGE, "image is truncated", nullptr, 0, x.file_off);
    if (!amber_check_extent(&x, chunk_buf, &err)) die_img(err);
  }
}

// A range no saved region (nor anything mapped now) uses, for the blob.
uint64_t pick_gap(uint64_t len) {
  for (uint64_t cand = 0x100000000000ull; cand < 0x7f0000000000ull; cand += 0x10000000000ull) {
    bool clash = false;
    for (uint32_t i = 0; i < S.v.nregions && !clash; i++)
      clash = overlaps(cand, cand + len, S.v.regions[i].start, S.v.regions[i].end);
    if (clash) continue;
    long a = sys::mmap((void*)cand, len, sys::PROT_R_ | sys::PROT_W_ | sys::PROT_X_,
                       sys::MAP_PRIVATE_ | sys::MAP_ANON_ | sys::MAP_FIXED_NOREPLACE_ | sys::MAP_NORESERVE_, -1, 0);
    if (a == (long)cand) return cand;
    if (a > 0) sys::munmap((void*)a, len);
  }
  die(EXIT_SYSTEM, "no free address range for the restorer");
}

// ---------------------------------------------------------------------------------------------
// Stage 3 (runs from the blob).

[[noreturn]] void stage3(void*) {
  unmap_everything_else();
  vdso_place();
  regions_map();
  shmem_release();
  process_restore_mm();
  zombies_restore();  // (memory is back: their table is the agent's)
  // Our image descriptor, above every descriptor the process had.
  long hi = lift(S.imgfd);
  if (hi < 0) die(EXIT_SYSTEM, "cannot move the image descriptor", nullptr, hi);
  S.imgfd = (int)hi;
  Proc p{&S.v, S.prep, reinterpret_cast<bool*>(S.prep + S.v.nfds), T.me};
  fds_restore(p);
  aio_resubmit();  // (their descriptors are back; no thread runs yet)
  process_restore_state();
  regions_lock();
  sem_restore();
  signals_restore();

  auto* h = reinterpret_cast<amber_handoff*>(S.hdr.handoff_addr);
  if (!h || (h->magic != AMBER_HANDOFF_MAGIC && h->magic != AMBER_HANDOFF_MAGIC2 && h->magic != AMBER_HANDOFF_MAGIC3))
    die(EXIT_IMAGE, "image has no agent hand-off area");
  if (h->magic != AMBER_HANDOFF_MAGIC) memcpy(h->token, S.token, sizeof h->token);
  stdio_handoff(h);
  h->new_pid = (int32_t)sys::getpid();
  h->blob_addr = (uint64_t)S.blob;
  h->blob_len = S.blob_len;
  memcpy(h->coord, S.coord, sizeof h->coord);
  memcpy(h->image, S.image, sizeof h->image - 1);
  h->image[sizeof h->image - 1] = 0;
  for (uint32_t i = 0; i < S.v.nthreads; i++) h->new_tids[i] = 0;
  if (S.main_idx >= 0) h->new_tids[S.main_idx] = h->new_pid;
  __atomic_store_n(&h->restored, 1u, __ATOMIC_SEQ_CST);

  creds_restore();  // after what needed the restart's privileges, before the threads (a clone takes them)
  if (h->magic == AMBER_HANDOFF_MAGIC3) h->coord_fd1 = (uint32_t)S.coord_fd1;
  threads_start(h);
  timers_restore();
  close_strays();
  sys::close(S.imgfd);
  fds_locks(p);  // after the last close (a close drops the process's POSIX locks on that file)
  threads_enter_main(h);
}

// Stage 2: this process's own copy of the restorer and of its image's metadata, in the blob.
[[noreturn]] void stage2() {
  const Img& im = T.img[T.me];
  sys::Out(S.image, sizeof S.image).s(im.path);
  S.file_size = im.file_size;
  S.hdr = im.hdr;
  // Our image again, by the path stage 1 read: it must be the very file that was validated (its
  // header, with every checksum the rest is checked against, unchanged).
  {
    // (never a link, never a FIFO, and the very inode stage 1 checked the owner and mode of)
    long fd = sys::open(S.image, sys::O_RDONLY_ | sys::O_CLOEXEC_ | 0400000 /*O_NOFOLLOW*/ | 04000 /*O_NONBLOCK*/);
    if (fd < 0) die(EXIT_IMAGE, "cannot open:", "it went away during the restart", fd);
    S.imgfd = (int)fd;
    sys::kstat st{};
    sys::fstat(S.imgfd, &st);
    static char page[AMBER_HEADER_SIZE];
    amber_err err{};
    if ((st.st_mode & sys::S_IFMT_) != sys::S_IFREG_ || st.st_dev != im.dev || st.st_ino != im.ino ||
        (uint64_t)st.st_size != im.file_size ||
        sys::pread_all(S.imgfd, page, sizeof page, 0) < 0 || !amber_check_header(page, im.file_size, &err) ||
        reinterpret_cast<const amber_header*>(page)->header_xxh != im.hdr.header_xxh)
      die(EXIT_IMAGE, "image changed during the restart");
  }
  S.main_idx = im.main_idx;
  stdio_enter(im.stdio_known);
  // Our own image's metadata again (the tree's copy is gone): checked against the header's
  // checksum, so it is what stage 1 validated.
  long tmp = sys::mmap(nullptr, S.hdr.meta_size + 8, sys::PROT_R_ | sys::PROT_W_, sys::MAP_PRIVATE_ | sys::MAP_ANON_, -1, 0);
  if (tmp < 0) die(EXIT_SYSTEM, "out of memory", nullptr, tmp);
  char* meta = reinterpret_cast<char*>(tmp);
  {
    long r = sys::pread_all(S.imgfd, meta, S.hdr.meta_size, S.hdr.meta_off);
    if (r < 0) die(EXIT_IMAGE, "cannot read metadata", nullptr, r, S.hdr.meta_off);
    amber_err err{};
    if (!amber_parse_meta(&S.hdr, meta, S.hdr.meta_size, &S.v, &err)) die_img(err);
  }
  // What names a process by its new pid (fd/fd.cc fds_forked) needs only this process's own
  // descriptors: it is opened now, with the metadata just read back, and kept with the prepared ones.
  T.img[T.me].v = S.v;
  fds_forked();
  T.img[T.me].v = amber_view{};

  const auto* eh = reinterpret_cast<const uint8_t*>(__ehdr_start);
  S.load_base = (uint64_t)__ehdr_start;
  uint64_t phoff = *reinterpret_cast<const uint64_t*>(eh + 32);
  uint16_t phnum = *reinterpret_cast<const uint16_t*>(eh + 56);
  uint64_t image_end = 0;
  for (uint16_t i = 0; i < phnum; i++) {
    const uint8_t* ph = eh + phoff + (uint64_t)i * 56;
    if (*reinterpret_cast<const uint32_t*>(ph) != 1 /*PT_LOAD*/) continue;
    uint64_t e = *reinterpret_cast<const uint64_t*>(ph + 16) + *reinterpret_cast<const uint64_t*>(ph + 40);
    if (e > image_end) image_end = e;
  }
  auto pages = [](uint64_t n) { return (n + kPage - 1) & ~(kPage - 1); };
  S.code_len = pages(image_end);
  S.meta_at = S.code_len;
  S.prep_at = S.meta_at + pages(S.hdr.meta_size);
  uint64_t nfds = S.v.nfds;
  S.shm_at = S.prep_at + pages(nfds * (sizeof(int32_t) + 1) + 8);
  S.maps_at = S.shm_at + pages(T.nshm * sizeof(ShmObj) + 8);
  // The maps buffer doubles as scratch for the sorted descriptor numbers (close_strays).
  S.maps_len = kMapsBuf + pages((nfds + 1) * sizeof(int32_t));
  S.vtemp_at = S.maps_at + S.maps_len;
  S.vtemp_len = 64 * kPage;
  S.stacks_at = S.vtemp_at + S.vtemp_len;
  S.blob_len = S.stacks_at + threads_stack_bytes(S.v.nthreads) + kMainStack;
  S.blob = reinterpret_cast<char*>(pick_gap(S.blob_len));
  // What we copy in next, allocated in one call rather than one page fault at a time (a tree of
  // thousands restores thousands of these; errors are harmless: the copy then faults them in).
  sys::madvise(S.blob, S.maps_at, 23 /*MADV_POPULATE_WRITE*/);
  // The vdso temporary spot must be free (mremap onto it replaces it), and inaccessible.
  sys::munmap(S.blob + S.vtemp_at, S.vtemp_len);
  S.main_stack_top = (uint64_t)S.blob + S.blob_len - 64;
  // Metadata and prepared descriptors into the blob; parse again so every view pointer points there.
  memcpy(S.blob + S.meta_at, meta, S.hdr.meta_size);
  {
    amber_err err{};
    if (!amber_parse_meta(&S.hdr, S.blob + S.meta_at, S.hdr.meta_size, &S.v, &err)) die_img(err);
  }
  sys::munmap(meta, S.hdr.meta_size + 8);
  S.prep = reinterpret_cast<int32_t*>(S.blob + S.prep_at);
  memcpy(S.prep, im.prep, nfds * sizeof(int32_t));
  S.shm = reinterpret_cast<ShmObj*>(S.blob + S.shm_at);
  S.nshm = T.nshm;
  if (T.nshm) memcpy(S.shm, T.shm, T.nshm * sizeof(ShmObj));
  // (the tree's tables go with everything else in stage 3)
  // Our own loaded segments into the blob, S included (copied last: later writes would be lost).
  for (uint16_t i = 0; i < phnum; i++) {
    const uint8_t* ph = eh + phoff + (uint64_t)i * 56;
    if (*reinterpret_cast<const uint32_t*>(ph) != 1) continue;
    uint64_t va = *reinterpret_cast<const uint64_t*>(ph + 16);
    uint64_t msz = *reinterpret_cast<const uint64_t*>(ph + 40);
    memcpy(S.blob + va, eh + va, msz);
  }
  uint64_t fn = (uint64_t)&stage3 - S.load_base + (uint64_t)S.blob;
  amber_switch_stack(reinterpret_cast<void*>(S.blob + S.blob_len - 64), reinterpret_cast<void (*)(void*)>(fn), nullptr);
}

}  // namespace
}  // namespace rs

extern "C" void restorer_main(uint64_t* sp) {
  using namespace rs;
  int argc = (int)sp[0];
  char** argv = reinterpret_cast<char**>(sp + 1);
  char** envp = argv + argc + 1;
  // Nothing may interrupt the restore; restored threads keep everything blocked until the
  // agent's handler returns through rt_sigreturn, which restores each thread's own mask.
  uint64_t all = ~0ull;
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &all, nullptr);

  Args args = gather_args(argc, argv);
  parse_args(args);
  if (const char* c = getenv_(envp, "AMBER_COORD")) sys::Out(S.coord, sizeof S.coord).s(c);
  if (const char* t = getenv_(envp, "AMBER_TOKEN")) sys::Out(S.token, sizeof S.token).s(t);
  T.maxfd = 2;

  // Stage 1, for every image: nothing is started unless all of them can be.
  vdso_read_current(alloc_n<char>(kMapsBuf), kMapsBuf);
  uint64_t meta_total = 0;
  for (int k = 0; k < T.n; k++) {
    open_image(T.img[k]);
    meta_total += (T.img[k].hdr.meta_size + 7) & ~7ull;
  }
  // Every image's metadata in one mapping of its own, released before the fork.
  long meta_map = sys::mmap(nullptr, meta_total + 8, sys::PROT_R_ | sys::PROT_W_, sys::MAP_PRIVATE_ | sys::MAP_ANON_, -1, 0);
  if (meta_map < 0) die(EXIT_SYSTEM, "out of memory for the images' metadata", nullptr, meta_map);
  char* meta = reinterpret_cast<char*>(meta_map);
  char* chunk_buf = args.check ? alloc_n<char>(AMBER_CHUNK_MAX) : nullptr;
  for (int k = 0; k < T.n; k++) {
    load_image(T.img[k], meta, args.check, chunk_buf);
    meta += (T.img[k].hdr.meta_size + 7) & ~7ull;
  }
  S.image[0] = 0;
  if (args.check) { put("amber: image ok\n"); sys::exit_group(0); }
  // The tree: its descriptors' shared objects, its groups, then the fork.
  // Each process opens its own image again after the fork (checked against this header): a tree
  // of thousands must not copy thousands of descriptors into every fork, nor close them in each.
  // What reads saved bytes before the fork (deleted files, shared memory) opens the image it needs
  // again, above every saved number (image_fd), so no object is kept from its own number.
  images_close();
  tree_link();
  fds_index();
  fds_prepare();
  shmem_prepare();  // after the descriptors: a memfd both mapped and held is the file they made
  sysvshm_prepare();
  images_close();
  tree_prepare();
  sys::munmap(reinterpret_cast<void*>(meta_map), meta_total + 8);
  for (int k = 0; k < T.n; k++) T.img[k].v = amber_view{};
  tree_fork();
  stage2();
}
