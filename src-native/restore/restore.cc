// amber-restart: turns one image back into the running process.
//
// A static PIE with no libc (PITFALLS 1: a glibc-linked restorer registers rseq and keeps state
// in memory it is about to unmap). Three stages:
//
//  1. In place, as the kernel loaded us: read and validate everything that can be validated
//     without touching the address space — header, metadata, trailer, CPU features, the kernel's
//     vdso layout, the files the image maps or had open. Any problem ends here with one line on
//     stderr and exit 3 (bad image) or 4 (cannot run here): nothing was started.
//  2. Pick a range no saved region uses (at run time, from the image itself, so no address hole
//     has to be reserved in the application), map a "blob" there, copy our own loaded segments
//     and the metadata into it and continue from the copy on a stack inside it. Our code is
//     position independent without relocations (the build checks), so a copy runs as is.
//  3. From the blob: unmap everything else, move the kernel's vvar/vdso block to the saved
//     address, map every saved region with MAP_FIXED_NOREPLACE and read its chunks straight into
//     place (checking each chunk's checksum), put back the mm fields (PR_SET_MM_MAP), files,
//     signal actions, timers, limits; recreate threads with their TLS, rseq and alternate stacks;
//     fill the agent's hand-off; jump into each saved context. The agent unmaps the blob.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"
#include "image/validate.h"
#include "sys/sys.h"

extern "C" {
[[noreturn]] void amber_ctx_restore(const amber_ctx*);
[[noreturn]] void amber_switch_stack(void* sp, void (*fn)(void*), void* arg);
long amber_clone_thread(unsigned long flags, void* stack, int32_t* ptid, int32_t* ctid,
                        unsigned long tls, void (*fn)(void*), void* arg);
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));
void restorer_main(uint64_t* sp);

// Freestanding C runtime pieces the compiler may call.
void* memcpy(void* d, const void* s, size_t n) {
  char* a = static_cast<char*>(d);
  const char* b = static_cast<const char*>(s);
  if (n >= 8 && !(((uintptr_t)a | (uintptr_t)b) & 7)) {
    for (; n >= 8; n -= 8, a += 8, b += 8) *reinterpret_cast<uint64_t*>(a) = *reinterpret_cast<const uint64_t*>(b);
  }
  while (n--) *a++ = *b++;
  return d;
}
void* memmove(void* d, const void* s, size_t n) {
  char* a = static_cast<char*>(d);
  const char* b = static_cast<const char*>(s);
  if (a < b) { while (n--) *a++ = *b++; }
  else { while (n--) a[n] = b[n]; }
  return d;
}
void* memset(void* d, int c, size_t n) {
  unsigned char* a = static_cast<unsigned char*>(d);
  while (n--) *a++ = (unsigned char)c;
  return d;
}
int memcmp(const void* x, const void* y, size_t n) {
  const unsigned char* a = static_cast<const unsigned char*>(x);
  const unsigned char* b = static_cast<const unsigned char*>(y);
  for (size_t i = 0; i < n; i++) if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}
}

namespace {

constexpr uint64_t kPage = 4096;
constexpr int PROT_R = 1, PROT_W = 2;
constexpr int MAP_SHARED_ = 0x01, MAP_PRIVATE_ = 0x02, MAP_FIXED_ = 0x10, MAP_ANON_ = 0x20,
              MAP_GROWSDOWN_ = 0x100, MAP_NORESERVE_ = 0x4000, MAP_FIXED_NOREPLACE_ = 0x100000;
constexpr int O_RDONLY_ = 0, O_RDWR_ = 2, O_ACCMODE_ = 3, O_CREAT_ = 0100, O_EXCL_ = 0200,
              O_NOCTTY_ = 0400, O_TRUNC_ = 01000, O_DIRECTORY_ = 0200000, O_CLOEXEC_ = 02000000;
constexpr uint64_t kThreadStack = 64 * 1024, kMainStack = 256 * 1024, kMapsBuf = 1 << 20;

enum Exit { EXIT_IMAGE = 3, EXIT_HOST = 4, EXIT_SYSTEM = 5 };

// All restorer state. It lives in .bss and is copied along with the code in stage 2; it holds
// pointers only into the blob (never into our original segments), so the copy stays valid.
struct State {
  char image[1024];       // absolute image path (for messages and the hand-off)
  char coord[256];        // AMBER_COORD: the coordinator the restored agent joins
  char token[80];         // AMBER_TOKEN: its token, for a TCP coordinator
  int imgfd;
  uint64_t file_size;
  amber_header hdr;
  amber_view v;
  char* blob;             // [code copy][meta][maps buffer][vdso temp][thread stacks][main stack]
  uint64_t blob_len, code_len, meta_at, maps_at, vtemp_at, vtemp_len, stacks_at, main_stack_top;
  uint64_t load_base;     // where the kernel loaded us (for stage-2 address translation)
  int main_idx;
  uint64_t cur_vvar, cur_vvar_len, cur_vclock, cur_vclock_len, cur_vdso, cur_vdso_len;
};
State S;

// A process tree is restored by one restorer: every image is validated first, pipes shared
// between processes are created once, then the restorer forks the tree (children become the
// kernel children of their restored parent) and each process restores its own image.
constexpr int kMaxImgs = 256;
struct Img {
  char image[1024];
  int imgfd, parent, main_idx;
  uint64_t file_size;
  amber_header hdr;
  amber_view v;
};
Img g_imgs[kMaxImgs];
int g_nimgs;
struct SharedPipe { uint64_t inode; int r, w; };
constexpr int kMaxPipes = 1024;
SharedPipe g_pipes[kMaxPipes];
int g_npipes;
int g_me;  // which image of the tree this process restores
// Sockets rebuilt before the fork: image, saved descriptor number, the new (lifted) descriptor.
struct SharedSock { int img; int32_t fd; int nfd; };
constexpr int kMaxSocks = 1024;
SharedSock g_socks[kMaxSocks];
int g_nsocks;

SharedSock g_passed[kMaxSocks];  // connections to another tree, passed in by restart (--sockfd)
int g_npassed;

int sock_lookup(int img, int32_t fd) {
  for (int i = 0; i < g_nsocks; i++) if (g_socks[i].img == img && g_socks[i].fd == fd) return g_socks[i].nfd;
  return -1;
}

// Open file descriptions shared by several saved descriptors (dup, fork): `--share P:FD,...`
// from the manifest (the coordinator found them with kcmp). Each is opened once before the fork
// and given to every member, so they keep one offset as they had.
struct ShareFd { int grp, img; int32_t fd; };
constexpr int kMaxShareFds = 4096, kMaxShares = 1024;
ShareFd g_shfd[kMaxShareFds];
int g_nshfd, g_nshares;
int g_share_fd[kMaxShares];  // the description, opened and lifted (-1: could not)

int share_lookup(int img, int32_t fd) {
  for (int i = 0; i < g_nshfd; i++)
    if (g_shfd[i].img == img && g_shfd[i].fd == fd) return g_share_fd[g_shfd[i].grp];
  return -1;
}

// stdin/stdout/stderr that came from whoever launched the computation become the restart
// command's own (DESIGN: restart runs in the foreground with the application's stdio): all of the
// root's, and a descendant's when they are still the very ones the root had. A descendant's
// stdio that the application set up itself (a pipeline's pipe, a redirection to a file) is
// restored like any other descriptor.
// The root's stdio identities, copied out of its metadata before the fork: only the restorer's
// own globals survive into stage 3 (each image's metadata copy is unmapped there).
struct StdioId { uint64_t dev, inode; bool set; };
StdioId g_root_stdio[3];

bool restart_stdio(const amber_fd& f, int img) {
  if (f.fd > 2) return false;
  if (img == 0 || g_nimgs == 0) return true;
  for (const StdioId& r : g_root_stdio)
    if (r.set && r.dev == f.dev && r.inode == f.inode) return true;
  return false;
}

// Pseudo-terminals rebuilt before the fork (see build_ptys).
struct SharedPty { uint64_t index; int m, s; };
constexpr int kMaxPtys = 64;
SharedPty g_ptys[kMaxPtys];
int g_nptys;
int g_rstdio[3] = {-1, -1, -1};  // the restart's stdin/stdout/stderr, lifted before the fork

const SharedPty* shared_pty(const amber_fd& f) {
  if (f.kind != AMBER_FD_CHR || (f.subkind != AMBER_CHR_PTMX && f.subkind != AMBER_CHR_PTS)) return nullptr;
  for (int k = 0; k < g_nptys; k++) if (g_ptys[k].index == f.extra) return &g_ptys[k];
  return nullptr;
}

// A terminal descriptor (not stdio itself) to the very terminal the root had as stdio, e.g. bash's
// fd 255 or an opened /dev/tty: the restart's own stdio descriptor it matched, or -1.
int restart_tty(const amber_fd& f) {
  if (f.kind != AMBER_FD_CHR) return -1;
  for (int j = 0; j < 3; j++)
    if (g_root_stdio[j].set && g_root_stdio[j].dev == f.dev && g_root_stdio[j].inode == f.inode) return g_rstdio[j];
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Messages: one line, "amber: <image>: <what>".

void put(const char* s) { sys::write_all(2, s, sys::slen(s)); }

[[noreturn]] void die(int code, const char* what, const char* detail = nullptr, long err = 0,
                      uint64_t offset = ~0ull) {
  char buf[1600];
  sys::Out o(buf, sizeof buf);
  o.s("amber: ").s(S.image[0] ? S.image : "amber-restart").s(": ").s(what);
  if (detail) o.s(" ").s(detail);
  if (err) o.s(" (errno ").i(-err).s(")");
  if (offset != ~0ull) o.s(" at offset ").u(offset);
  o.c('\n');
  sys::write_all(2, buf, o.len);
  sys::exit_group(code);
}

[[noreturn]] void die_img(const amber_err& e) {
  die(EXIT_IMAGE, e.what, nullptr, 0, e.offset);
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

const char* str_of(amber_str s, char* buf, size_t cap) {
  const char* p;
  uint32_t len;
  if (!amber_str_at(&S.v, s, &p, &len) || len >= cap) { buf[0] = 0; return buf; }
  memcpy(buf, p, len);
  buf[len] = 0;
  return buf;
}

const char* getenv_(char** envp, const char* name) {
  size_t n = sys::slen(name);
  for (; *envp; envp++)
    if (sys::sstarts(*envp, name) && (*envp)[n] == '=') return *envp + n + 1;
  return nullptr;
}

bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

bool is_special(const amber_region& r) {
  return r.flags & (AMBER_REG_VDSO | AMBER_REG_VVAR | AMBER_REG_VVAR_VCLOCK | AMBER_REG_VSYSCALL);
}

const amber_region* saved_special(uint32_t flag) {
  for (uint32_t i = 0; i < S.v.nregions; i++)
    if (S.v.regions[i].flags & flag) return &S.v.regions[i];
  return nullptr;
}

// Calls fn(start, end, name) for every line of /proc/self/maps, read into buf.
template <typename F>
void each_mapping(char* buf, uint64_t cap, F fn) {
  long fd = sys::open("/proc/self/maps", O_RDONLY_ | O_CLOEXEC_);
  if (fd < 0) die(EXIT_SYSTEM, "cannot read /proc/self/maps", nullptr, fd);
  uint64_t len = 0;
  for (;;) {
    long r = sys::read((int)fd, buf + len, cap - 1 - len);
    if (r <= 0) break;
    len += (uint64_t)r;
  }
  sys::close((int)fd);
  buf[len] = 0;
  const char* p = buf;
  while (*p) {
    const char* q = p;
    uint64_t s = sys::parse_u(&q, 16);
    q++;
    uint64_t e = sys::parse_u(&q, 16);
    const char* eol = q;
    while (*eol && *eol != '\n') eol++;
    const char* name = eol;
    while (name > q && name[-1] != ' ') name--;
    char nm[32];
    size_t n = (size_t)(eol - name) < sizeof nm - 1 ? (size_t)(eol - name) : sizeof nm - 1;
    memcpy(nm, name, n);
    nm[n] = 0;
    fn(s, e, nm);
    p = *eol ? eol + 1 : eol;
  }
}

// ---------------------------------------------------------------------------------------------
// Stage 1: validation, in place.

void read_current_specials(char* buf, uint64_t cap) {
  S.cur_vvar = S.cur_vclock = S.cur_vdso = 0;
  each_mapping(buf, cap, [](uint64_t s, uint64_t e, const char* nm) {
    if (sys::seq(nm, "[vvar]")) { S.cur_vvar = s; S.cur_vvar_len = e - s; }
    else if (sys::seq(nm, "[vvar_vclock]")) { S.cur_vclock = s; S.cur_vclock_len = e - s; }
    else if (sys::seq(nm, "[vdso]")) { S.cur_vdso = s; S.cur_vdso_len = e - s; }
  });
}

// The kernel's special mappings must match the image's in size and relative layout: the vdso
// finds its data pages at fixed offsets (PITFALLS 3). Otherwise refuse rather than crash later.
void check_vdso() {
  const amber_region* vd = saved_special(AMBER_REG_VDSO);
  const amber_region* vv = saved_special(AMBER_REG_VVAR);
  const amber_region* vc = saved_special(AMBER_REG_VVAR_VCLOCK);
  char msg[200];
  if (!vd) return;  // a process without a vdso (vdso=0): nothing to move
  if (!S.cur_vdso || S.cur_vdso_len != vd->end - vd->start)
    die(EXIT_HOST, "this kernel's vdso differs in size from the image's; image made on kernel", S.hdr.kernel_release);
  if ((vv != nullptr) != (S.cur_vvar != 0) || (vc != nullptr) != (S.cur_vclock != 0)) {
    sys::Out(msg, sizeof msg).s(S.hdr.kernel_release).s(" (vvar/vvar_vclock differ)");
    die(EXIT_HOST, "this kernel's vdso layout differs from the image's kernel", msg);
  }
  if (vv && (S.cur_vvar_len != vv->end - vv->start || (int64_t)(vv->start - vd->start) != (int64_t)(S.cur_vvar - S.cur_vdso)))
    die(EXIT_HOST, "this kernel's [vvar] layout differs from the image's kernel", S.hdr.kernel_release);
  if (vc && (S.cur_vclock_len != vc->end - vc->start || (int64_t)(vc->start - vd->start) != (int64_t)(S.cur_vclock - S.cur_vdso)))
    die(EXIT_HOST, "this kernel's [vvar_vclock] layout differs from the image's kernel", S.hdr.kernel_release);
}

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

// Files the image maps or had open must still be the same files.
void check_files() {
  char path[4096];
  for (uint32_t i = 0; i < S.v.nregions; i++) {
    const amber_region& r = S.v.regions[i];
    if (!(r.flags & AMBER_REG_FILE) || (r.flags & AMBER_REG_ALLDATA)) continue;
    str_of(r.path, path, sizeof path);
    sys::kstat st{};
    long e = sys::fstatat(-100, path, &st, 0);
    if (e < 0) die(EXIT_HOST, "a file the image maps is missing:", path, e);
    if ((uint64_t)st.st_size != r.file_size || (int64_t)st.st_mtime_ != r.mtime_sec ||
        (int64_t)st.st_mtime_nsec != r.mtime_nsec)
      die(EXIT_HOST, "a file the image maps changed since the checkpoint:", path);
  }
  for (uint32_t i = 0; i < S.v.nfds; i++) {
    const amber_fd& f = S.v.fds[i];
    if (f.fd <= 2 || (f.kind != AMBER_FD_FILE && f.kind != AMBER_FD_DIR)) continue;
    str_of(f.path, path, sizeof path);
    size_t n = sys::slen(path);
    if (n > 10 && sys::seq(path + n - 10, " (deleted)")) continue;  // becomes /dev/null
    sys::kstat st{};
    long e = sys::fstatat(-100, path, &st, 0);
    if (e < 0) die(EXIT_HOST, "a file the process had open is missing:", path, e);
  }
}

void load_and_validate(const char* arg) {
  // Absolute path: messages and the hand-off must not depend on our cwd, which changes.
  sys::Out o(S.image, sizeof S.image);
  if (arg[0] != '/') {
    char cwd[512];
    long n = sys::sc2(sys::NR_getcwd, (long)cwd, sizeof cwd);
    if (n > 0) o.s(cwd).s("/");
  }
  o.s(arg);
  // Issue 12: never a link, never a FIFO (O_NONBLOCK: the open itself must not block), never a
  // file another user owns or can write. lib/trust.ts checked the same before spawning us.
  long fd = sys::open(S.image, O_RDONLY_ | O_CLOEXEC_ | 0400000 /*O_NOFOLLOW*/ | 04000 /*O_NONBLOCK*/);
  if (fd == -40 /*ELOOP*/) die(EXIT_IMAGE, "is a symbolic link: refusing it (amber follows no link it did not make)");
  if (fd < 0) die(EXIT_IMAGE, "cannot open:", fd == -2 ? "no such file" : "open failed", fd);
  S.imgfd = (int)fd;
  sys::kstat st{};
  sys::fstat(S.imgfd, &st);
  if ((st.st_mode & 0170000) != 0100000) die(EXIT_IMAGE, "not a regular file: refusing it");
  long euid = sys::sc0(107 /*geteuid*/);
  if ((st.st_uid != 0 && st.st_uid != (uint32_t)euid) || (st.st_mode & 022) != 0)
    die(EXIT_IMAGE, "is owned by another user or writable by group or others: refusing it");
  S.file_size = (uint64_t)st.st_size;

  static char page[AMBER_HEADER_SIZE];
  memset(page, 0, sizeof page);
  sys::pread(S.imgfd, page, sizeof page, 0);
  amber_err err{};
  if (!amber_check_header(page, S.file_size, &err)) die_img(err);
  memcpy(&S.hdr, page, sizeof S.hdr);
  if (S.hdr.page_size != kPage) die(EXIT_HOST, "image page size differs from this system's");
}

// Reads the metadata into `at` and parses it there (S.v then points into it).
void load_meta(char* at) {
  long r = sys::pread_all(S.imgfd, at, S.hdr.meta_size, S.hdr.meta_off);
  if (r < 0) die(EXIT_IMAGE, "cannot read metadata", nullptr, r, S.hdr.meta_off);
  amber_err err{};
  if (!amber_parse_meta(&S.hdr, at, S.hdr.meta_size, &S.v, &err)) die_img(err);
}

void check_trailer() {
  amber_trailer t{};
  long r = sys::pread_all(S.imgfd, &t, sizeof t, S.hdr.file_size - AMBER_TRAILER_SIZE);
  if (r < 0) die(EXIT_IMAGE, "image is truncated (no trailer)", nullptr, 0, S.hdr.file_size - AMBER_TRAILER_SIZE);
  amber_err err{};
  if (!amber_check_trailer(&S.hdr, &t, &S.v, &err)) die_img(err);
}

// A range no saved region (nor anything mapped now) uses, for the blob.
uint64_t pick_gap(uint64_t len) {
  for (uint64_t cand = 0x100000000000ull; cand < 0x7f0000000000ull; cand += 0x10000000000ull) {
    bool clash = false;
    for (uint32_t i = 0; i < S.v.nregions && !clash; i++)
      clash = overlaps(cand, cand + len, S.v.regions[i].start, S.v.regions[i].end);
    if (clash) continue;
    long a = sys::mmap((void*)cand, len, PROT_R | PROT_W | 4 /*EXEC*/,
                       MAP_PRIVATE_ | MAP_ANON_ | MAP_FIXED_NOREPLACE_ | MAP_NORESERVE_, -1, 0);
    if (a == (long)cand) return cand;
    if (a > 0) sys::munmap((void*)a, len);
  }
  die(EXIT_SYSTEM, "no free address range for the restorer");
}

// ---------------------------------------------------------------------------------------------
// Stage 3 (runs from the blob).

void unmap_everything_else() {
  char* buf = S.blob + S.maps_at;
  // Collect first, unmap after: unmapping while parsing would change the text under us.
  struct R { uint64_t s, e; };
  R* list = reinterpret_cast<R*>(buf + kMapsBuf / 2);
  uint32_t n = 0;
  uint64_t b0 = (uint64_t)S.blob, b1 = b0 + S.blob_len;
  each_mapping(buf, kMapsBuf / 2, [&](uint64_t s, uint64_t e, const char* nm) {
    if (overlaps(s, e, b0, b1)) return;
    if (sys::seq(nm, "[vdso]") || sys::seq(nm, "[vvar]") || sys::seq(nm, "[vvar_vclock]") ||
        sys::seq(nm, "[vsyscall]"))
      return;
    if (n < (kMapsBuf / 2) / sizeof(R)) list[n++] = R{s, e};
  });
  for (uint32_t i = 0; i < n; i++) sys::munmap((void*)list[i].s, list[i].e - list[i].s);
}

void move_block(uint64_t delta_from, uint64_t to_base) {
  // Move vvar, vvar_vclock, vdso keeping their relative layout (PITFALLS 3), from the block whose
  // vdso is at delta_from to the block whose vdso will be at to_base.
  struct M { uint64_t* at; uint64_t len; } ms[3] = {
      {&S.cur_vvar, S.cur_vvar_len}, {&S.cur_vclock, S.cur_vclock_len}, {&S.cur_vdso, S.cur_vdso_len}};
  for (auto& m : ms) {
    if (!*m.at) continue;
    uint64_t dst = to_base + (*m.at - delta_from);
    long r = sys::mremap((void*)*m.at, m.len, m.len, 1 /*MAYMOVE*/ | 2 /*FIXED*/, (void*)dst);
    if (r != (long)dst) die(EXIT_SYSTEM, "cannot move the vdso", nullptr, r);
    *m.at = dst;
  }
}

void place_vdso() {
  const amber_region* vd = saved_special(AMBER_REG_VDSO);
  if (!vd || !S.cur_vdso || S.cur_vdso == vd->start) return;
  uint64_t lo = S.cur_vdso, hi = S.cur_vdso + S.cur_vdso_len;
  if (S.cur_vvar && S.cur_vvar < lo) lo = S.cur_vvar;
  if (S.cur_vclock && S.cur_vclock < lo) lo = S.cur_vclock;
  if (S.cur_vvar && S.cur_vvar + S.cur_vvar_len > hi) hi = S.cur_vvar + S.cur_vvar_len;
  if (S.cur_vclock && S.cur_vclock + S.cur_vclock_len > hi) hi = S.cur_vclock + S.cur_vclock_len;
  uint64_t delta_lo = S.cur_vdso - lo;  // vdso offset inside the block
  uint64_t target_lo = vd->start - delta_lo;
  if (overlaps(lo, hi, target_lo, target_lo + (hi - lo))) {
    if (hi - lo > S.vtemp_len) die(EXIT_SYSTEM, "vdso block larger than expected");
    uint64_t tmp_lo = (uint64_t)S.blob + S.vtemp_at;
    move_block(S.cur_vdso, tmp_lo + delta_lo);
  }
  move_block(S.cur_vdso, vd->start);
}

void read_chunks(const amber_region& r) {
  uint32_t i = r.first_chunk, end = r.first_chunk + r.nchunks;
  while (i < end) {
    // One pread for a run of chunks contiguous both in memory and in the file.
    uint32_t j = i + 1;
    uint64_t len = S.v.chunks[i].len;
    while (j < end && len < (64u << 20) && S.v.chunks[j].addr == S.v.chunks[j - 1].addr + S.v.chunks[j - 1].len &&
           S.v.chunks[j].file_off == S.v.chunks[j - 1].file_off + S.v.chunks[j - 1].len) {
      len += S.v.chunks[j].len;
      j++;
    }
    long e = sys::pread_all(S.imgfd, (void*)S.v.chunks[i].addr, len, S.v.chunks[i].file_off);
    if (e < 0) die(EXIT_IMAGE, e == -61 ? "image is truncated" : "cannot read image data", nullptr, e == -61 ? 0 : e, S.v.chunks[i].file_off);
    for (uint32_t k = i; k < j; k++) {
      amber_err err{};
      if (!amber_check_chunk(&S.v.chunks[k], (const void*)S.v.chunks[k].addr, &err)) die_img(err);
    }
    i = j;
  }
}

void map_regions() {
  char path[4096];
  for (uint32_t i = 0; i < S.v.nregions; i++) {
    const amber_region& r = S.v.regions[i];
    if (is_special(r)) continue;
    uint64_t len = r.end - r.start;
    int prot = (int)r.prot | (r.nchunks ? PROT_W | PROT_R : 0);
    long a;
    if ((r.flags & AMBER_REG_FILE) && !(r.flags & AMBER_REG_ALLDATA)) {
      bool shared = r.flags & AMBER_REG_SHARED;
      str_of(r.path, path, sizeof path);
      long fd = sys::open(path, ((shared && (r.prot & PROT_W)) ? O_RDWR_ : O_RDONLY_) | O_CLOEXEC_);
      if (fd < 0) die(EXIT_HOST, "cannot open mapped file", path, fd);
      a = sys::mmap((void*)r.start, len, prot, (shared ? MAP_SHARED_ : MAP_PRIVATE_) | MAP_FIXED_NOREPLACE_, (int)fd, r.file_off);
      sys::close((int)fd);
    } else {
      int fl = ((r.flags & AMBER_REG_SHARED) ? MAP_SHARED_ : MAP_PRIVATE_) | MAP_ANON_ | MAP_FIXED_NOREPLACE_;
      if (r.flags & AMBER_REG_STACK) fl |= MAP_GROWSDOWN_;
      if (r.flags & AMBER_REG_NODATA) fl |= MAP_NORESERVE_;
      a = sys::mmap((void*)r.start, len, prot, fl, -1, 0);
    }
    if (a != (long)r.start) {
      char where[64];
      sys::Out(where, sizeof where).x(r.start).s("-").x(r.end);
      die(EXIT_SYSTEM, "cannot map region", where, a < 0 ? a : -17);
    }
    if (r.nchunks) read_chunks(r);
    if (prot != (int)r.prot) sys::mprotect((void*)r.start, len, (int)r.prot);
  }
}

void restore_mm() {
  const amber_process& p = *S.v.proc;
  struct {
    uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
    uint64_t arg_start, arg_end, env_start, env_end;
    uint64_t auxv;
    uint32_t auxv_size, exe_fd;
  } m = {p.start_code, p.end_code, p.start_data, p.end_data, p.start_brk, p.brk, p.start_stack,
         p.arg_start, p.arg_end, p.env_start, p.env_end, (uint64_t)p.auxv, p.auxv_words * 8u, 0xffffffffu};
  long r = sys::prctl(35 /*PR_SET_MM*/, 14 /*PR_SET_MM_MAP*/, (long)&m, sizeof m, 0);
  if (r < 0) die(EXIT_SYSTEM, "prctl(PR_SET_MM_MAP) failed", nullptr, r);
  // The process name: the saved executable's base name (comm is what ps and top show).
  char exe[4096];
  str_of(p.exe, exe, sizeof exe);
  const char* base = exe;
  for (const char* q = exe; *q; q++) if (*q == '/') base = q + 1;
  char comm[16] = {};
  for (int k = 0; k < 15 && base[k]; k++) comm[k] = base[k];
  sys::prctl(15 /*PR_SET_NAME*/, (long)comm, 0, 0, 0);
}

// A new descriptor moved above every saved descriptor number, so that creating the next object
// can never hand out (and dup3 can never clobber) a number that is still to be restored.
int g_maxfd = 2;
long lift(long fd) {
  if (fd < 0 || fd > g_maxfd) return fd;
  long hi = sys::fcntl((int)fd, 1030 /*F_DUPFD_CLOEXEC*/, g_maxfd + 1);
  sys::close((int)fd);
  return hi;
}

// Puts fd (a lifted temporary) at the saved number with the saved status and descriptor flags.
void place(long fd, const amber_fd& f) {
  if (fd < 0) return;
  sys::dup3((int)fd, f.fd, (f.fd_flags & 1) ? O_CLOEXEC_ : 0);
  sys::fcntl(f.fd, 4 /*F_SETFL*/, f.flags & (04000 /*O_NONBLOCK*/ | 02000 /*O_APPEND*/ | 020000 /*O_ASYNC*/));
}

long devnull(const amber_fd& f) {
  return lift(sys::open("/dev/null", (f.flags & O_ACCMODE_) == O_RDONLY_ ? O_RDONLY_ : O_RDWR_, 0));
}

// A regular file or directory reopened as saved: path, status flags, offset.
long open_saved(const amber_fd& f, const char* path) {
  if (f.kind == AMBER_FD_DIR) return lift(sys::open(path, O_RDONLY_ | O_DIRECTORY_, 0));
  long fd = lift(sys::open(path, (f.flags & ~(O_CREAT_ | O_EXCL_ | O_TRUNC_ | O_CLOEXEC_)) | O_NOCTTY_, 0));
  if (fd >= 0 && f.kind == AMBER_FD_FILE) sys::lseek((int)fd, (int64_t)f.pos, 0);
  return fd;
}

bool is_reader(const amber_fd& f) { return (f.flags & O_ACCMODE_) != 1 /*O_WRONLY*/; }

const SharedPipe* shared_pipe(uint64_t inode) {
  for (int k = 0; k < g_npipes; k++) if (g_pipes[k].inode == inode) return &g_pipes[k];
  return nullptr;
}

void restore_pipe(uint32_t i, bool* done) {
  if (const SharedPipe* sp = shared_pipe(S.v.fds[i].inode)) {
    // Created before the tree was forked (the bytes in flight are already in it).
    for (uint32_t k = i; k < S.v.nfds; k++) {
      const amber_fd& f = S.v.fds[k];
      if (f.kind != AMBER_FD_PIPE || f.inode != sp->inode || restart_stdio(f, g_me)) continue;
      done[k] = true;
      if (sp->r < 0) { long n = devnull(f); place(n, f); sys::close((int)n); continue; }
      place(is_reader(f) ? sp->r : sp->w, f);
    }
    return;
  }
  // Every descriptor of this pipe (same inode) gets an end of one new pipe; the bytes that were in
  // flight go back in first. A pipe whose read end this process did not hold gets /dev/null for its
  // write end (a write must not raise SIGPIPE); one whose write end it did not hold reads the
  // saved bytes, then end-of-file.
  const amber_fd& f0 = S.v.fds[i];
  bool has_reader = false, has_writer = false;
  const amber_fd* with_data = nullptr;
  for (uint32_t k = i; k < S.v.nfds; k++) {
    const amber_fd& f = S.v.fds[k];
    if (f.kind != AMBER_FD_PIPE || f.inode != f0.inode || restart_stdio(f, g_me)) continue;
    if (is_reader(f)) has_reader = true;
    if ((f.flags & O_ACCMODE_) != O_RDONLY_) has_writer = true;
    if (f.data.len && !with_data) with_data = &f;
  }
  int p[2] = {-1, -1};
  if (has_reader) {
    if (sys::sc2(293 /*pipe2*/, (long)p, O_CLOEXEC_) < 0) p[0] = p[1] = -1;
    p[0] = (int)lift(p[0]);
    p[1] = (int)lift(p[1]);
    if (p[1] >= 0 && f0.extra) sys::fcntl(p[1], 1031 /*F_SETPIPE_SZ*/, (long)f0.extra);
    if (with_data && p[1] >= 0) {
      const char* d;
      uint32_t len;
      if (amber_str_at(&S.v, with_data->data, &d, &len)) sys::write_all(p[1], d, len);
    }
  }
  for (uint32_t k = i; k < S.v.nfds; k++) {
    const amber_fd& f = S.v.fds[k];
    if (f.kind != AMBER_FD_PIPE || f.inode != f0.inode || restart_stdio(f, g_me)) continue;
    done[k] = true;
    if (!has_reader) { long n = devnull(f); place(n, f); sys::close((int)n); continue; }
    place(is_reader(f) ? p[0] : p[1], f);
  }
  (void)has_writer;
  if (p[0] >= 0) sys::close(p[0]);
  if (p[1] >= 0) sys::close(p[1]);
}

long make_anon(const amber_fd& f) {
  int cl = (f.fd_flags & 1) ? O_CLOEXEC_ : 0, nb = f.flags & 04000;
  switch (f.subkind) {
    case AMBER_ANON_EVENTFD:
      return lift(sys::sc2(290 /*eventfd2*/, (long)(uint32_t)f.extra,
                           cl | nb | ((f.fd_flags & AMBER_FD_SEMAPHORE) ? 1 : 0)));
    case AMBER_ANON_SIGNALFD: {
      uint64_t mask = f.extra;
      return lift(sys::sc4(289 /*signalfd4*/, -1, (long)&mask, 8, cl | nb));
    }
    case AMBER_ANON_TIMERFD: {
      amber_timerfd t{};
      const char* d;
      uint32_t len;
      if (!amber_str_at(&S.v, f.data, &d, &len) || len != sizeof t) return -22;
      memcpy(&t, d, sizeof t);
      long fd = lift(sys::sc2(283 /*timerfd_create*/, t.clockid, cl | nb));
      if (fd < 0) return fd;
      int64_t v[4] = {t.interval_sec, t.interval_nsec, t.value_sec, t.value_nsec};
      if (!v[2] && !v[3] && t.ticks) v[3] = 1;  // expirations not yet read: fire at once
      if (v[2] || v[3]) sys::sc4(286 /*timerfd_settime*/, fd, 0, (long)v, 0);
      return fd;
    }
    case AMBER_ANON_EPOLL:
      return lift(sys::sc1(291 /*epoll_create1*/, cl));  // interest list added once all fds exist
    default:
      return -22;
  }
}

void restore_fds() {
  // Keep our image descriptor above every descriptor the process had.
  for (uint32_t i = 0; i < S.v.nfds; i++) if (S.v.fds[i].fd > g_maxfd) g_maxfd = S.v.fds[i].fd;
  long hi = lift(S.imgfd);
  if (hi < 0) die(EXIT_SYSTEM, "cannot move the image descriptor", nullptr, hi);
  S.imgfd = (int)hi;
  bool* done = reinterpret_cast<bool*>(S.blob + S.maps_at);  // scratch: the maps buffer is free now
  for (uint32_t i = 0; i < S.v.nfds; i++) done[i] = false;
  char path[4096];
  for (uint32_t i = 0; i < S.v.nfds; i++) {
    const amber_fd& f = S.v.fds[i];
    // stdin/stdout/stderr are the restart command's own (DESIGN: restart runs in the foreground).
    if (done[i] || restart_stdio(f, g_me) || f.kind == AMBER_FD_AGENT) continue;
    if (f.kind == AMBER_FD_PIPE) { restore_pipe(i, done); continue; }
    long fd = -1;
    str_of(f.path, path, sizeof path);
    size_t n = sys::slen(path);
    bool deleted = n > 10 && sys::seq(path + n - 10, " (deleted)");
    const SharedPty* pty = shared_pty(f);
    int rtty = restart_tty(f);
    int shared = (f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR) ? share_lookup(g_me, f.fd) : -1;
    if (shared >= 0) {
      fd = sys::fcntl(shared, 1030 /*F_DUPFD_CLOEXEC*/, g_maxfd + 1);
    } else if (pty) {
      fd = sys::fcntl(f.subkind == AMBER_CHR_PTMX ? pty->m : pty->s, 1030 /*F_DUPFD_CLOEXEC*/, g_maxfd + 1);
    } else if (rtty >= 0) {
      fd = sys::fcntl(rtty, 1030 /*F_DUPFD_CLOEXEC*/, g_maxfd + 1);
    } else if ((f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_CHR || f.kind == AMBER_FD_DIR) && !deleted) {
      fd = open_saved(f, path);
    } else if (f.kind == AMBER_FD_ANON) {
      fd = make_anon(f);
    } else if (f.kind == AMBER_FD_SOCKET) {
      long s = sock_lookup(g_me, f.fd);
      if (s >= 0) fd = sys::fcntl((int)s, 1030 /*F_DUPFD_CLOEXEC*/, g_maxfd + 1);
    }
    // Sockets and kernel objects amber cannot rebuild yet keep their number, as /dev/null: the
    // application sees end-of-file rather than crashing or reusing the number by accident.
    if (fd < 0) fd = devnull(f);
    if (fd < 0) continue;
    place(fd, f);
    sys::close((int)fd);
  }
  // epoll interest lists, now that every target descriptor exists again.
  for (uint32_t i = 0; i < S.v.nfds; i++) {
    const amber_fd& f = S.v.fds[i];
    if (f.kind != AMBER_FD_ANON || f.subkind != AMBER_ANON_EPOLL) continue;
    const char* d;
    uint32_t len;
    if (!amber_str_at(&S.v, f.data, &d, &len)) continue;
    for (uint32_t k = 0; k + sizeof(amber_epoll_entry) <= len; k += sizeof(amber_epoll_entry)) {
      amber_epoll_entry e;
      memcpy(&e, d + k, sizeof e);
      struct __attribute__((packed)) { uint32_t events; uint64_t data; } ev = {e.events, e.data};
      sys::sc4(233 /*epoll_ctl*/, f.fd, 1 /*EPOLL_CTL_ADD*/, e.tfd, (long)&ev);
    }
  }
}

void close_strays() {
  // Descriptors we inherited that the process did not have (other than 0-2 and our image).
  char* buf = S.blob + S.maps_at;
  long dfd = sys::open("/proc/self/fd", O_RDONLY_ | O_DIRECTORY_ | O_CLOEXEC_);
  if (dfd < 0) return;
  int extra[256];
  int n = 0;
  for (;;) {
    long r = sys::getdents64((int)dfd, buf, kMapsBuf);
    if (r <= 0) break;
    for (long off = 0; off < r;) {
      const char* rec = buf + off;
      off += *reinterpret_cast<const uint16_t*>(rec + 16);
      const char* nm = rec + 19;
      if (nm[0] < '0' || nm[0] > '9') continue;
      int fd = (int)sys::parse_u(&nm, 10);
      if (fd <= 2 || fd == (int)dfd || fd == S.imgfd) continue;
      bool saved = false;
      for (uint32_t i = 0; i < S.v.nfds && !saved; i++)
        saved = S.v.fds[i].fd == fd && S.v.fds[i].kind != AMBER_FD_AGENT;
      if (!saved && n < 256) extra[n++] = fd;
    }
  }
  sys::close((int)dfd);
  for (int i = 0; i < n; i++) sys::close(extra[i]);
}

void restore_process_state() {
  const amber_process& p = *S.v.proc;
  char cwd[4096];
  str_of(p.cwd, cwd, sizeof cwd);
  if (cwd[0]) sys::chdir(cwd);  // a cwd that is gone leaves us where we are, as the shell does
  sys::umask((int)p.umask);
  sys::personality(p.personality);
  for (int i = 0; i < (int)AMBER_NRLIMIT; i++) {
    uint64_t v[2] = {p.rlimits[i].cur, p.rlimits[i].max};
    sys::prlimit(0, i, v, nullptr);  // raising a hard limit needs privilege: keep what we have
  }
  for (int s = 1; s < (int)AMBER_NSIG; s++) {
    if (s == 9 || s == 19) continue;
    sys::ksigaction ka{p.sigactions[s].handler, p.sigactions[s].flags, p.sigactions[s].restorer, p.sigactions[s].mask};
    sys::rt_sigaction(s, &ka, nullptr);
  }
}

int32_t new_tid_of(int32_t old_tid) {
  auto* h = reinterpret_cast<amber_handoff*>(S.hdr.handoff_addr);
  for (uint32_t i = 0; i < S.v.nthreads; i++)
    if (S.v.threads[i].tid == old_tid) return h->new_tids[i];
  return 0;
}

void restore_timers() {
  const amber_process& p = *S.v.proc;
  for (int w = 0; w < 3; w++) {
    const amber_itimer& t = p.itimers[w];
    if (!t.value_sec && !t.value_usec) continue;
    int64_t v[4] = {t.interval_sec, t.interval_usec, t.value_sec, t.value_usec};
    sys::setitimer(w, v, nullptr);
  }
  if (!S.v.ntimers) return;
  // Timer ids are part of the application's state (timer_t values): recreate them exactly.
  // Kernels >= 6.15 allocate a requested id in PR_TIMER_CREATE_RESTORE_IDS mode; older ones hand
  // out ids sequentially, so create-and-discard until the id matches.
  bool exact = sys::prctl(77 /*PR_TIMER_CREATE_RESTORE_IDS*/, 1, 0, 0, 0) == 0;
  for (uint32_t i = 0; i < S.v.ntimers; i++) {
    const amber_timer& t = S.v.timers[i];
    struct { uint64_t value; int32_t signo, notify; int32_t tid; int32_t pad[11]; } sev = {};
    sev.value = t.sival;
    sev.signo = t.signo;
    sev.notify = t.notify;
    if (t.notify & 4) sev.tid = new_tid_of(t.tid);
    int id = t.id;
    long r = -1;
    if (exact) {
      r = sys::timer_create(t.clockid, &sev, &id);
    } else {
      for (int tries = 0; tries < 4096; tries++) {
        int got = -1;
        r = sys::timer_create(t.clockid, &sev, &got);
        if (r < 0 || got == t.id) break;
        if (got > t.id) { sys::sc1(sys::NR_timer_delete, got); r = -22; break; }
      }
      // ids below t.id created on the way are left unarmed (harmless, never returned to the app)
    }
    if (r < 0) { put("amber: warning: a POSIX timer could not be recreated\n"); continue; }
    int64_t v[4] = {t.interval_sec, t.interval_nsec, t.value_sec, t.value_nsec};
    if (v[2] || v[3]) sys::timer_settime(t.id, 0, v, nullptr);
  }
  if (exact) sys::prctl(77, 0, 0, 0, 0);
}

[[noreturn]] void enter_thread(const amber_thread& t) {
  if (t.ss_size && !(t.ss_flags & 2 /*SS_DISABLE*/)) {
    struct { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; } ss = {t.ss_sp, t.ss_flags, 0, t.ss_size};
    sys::sigaltstack(&ss, nullptr);
  }
  if (t.gs_base) sys::arch_prctl(0x1001 /*ARCH_SET_GS*/, t.gs_base);
  if (t.rseq_len && t.rseq_addr) {
    // Clear any stale critical-section pointer, then register the same area again (PITFALLS 1).
    *reinterpret_cast<volatile uint64_t*>(t.rseq_addr + 8) = 0;
    sys::rseq((void*)t.rseq_addr, t.rseq_len, 0, t.rseq_sig);
  }
  amber_ctx_restore(&t.ctx);
}

void thread_entry(void* arg) { enter_thread(*static_cast<const amber_thread*>(arg)); }

[[noreturn]] void stage3(void*) {
  unmap_everything_else();
  place_vdso();
  map_regions();
  restore_mm();
  restore_fds();
  restore_process_state();

  auto* h = reinterpret_cast<amber_handoff*>(S.hdr.handoff_addr);
  if (!h || (h->magic != AMBER_HANDOFF_MAGIC && h->magic != AMBER_HANDOFF_MAGIC2))
    die(EXIT_IMAGE, "image has no agent hand-off area");
  if (h->magic == AMBER_HANDOFF_MAGIC2) memcpy(h->token, S.token, sizeof h->token);
  h->new_pid = (int32_t)sys::getpid();
  h->blob_addr = (uint64_t)S.blob;
  h->blob_len = S.blob_len;
  memcpy(h->coord, S.coord, sizeof h->coord);
  memcpy(h->image, S.image, sizeof h->image - 1);
  h->image[sizeof h->image - 1] = 0;
  for (uint32_t i = 0; i < S.v.nthreads; i++) h->new_tids[i] = 0;
  h->new_tids[S.main_idx] = h->new_pid;
  __atomic_store_n(&h->restored, 1u, __ATOMIC_SEQ_CST);

  // Threads: each starts on a small stack in the blob, sets up what is per thread, then jumps.
  const unsigned long flags = 0x100 /*VM*/ | 0x200 /*FS*/ | 0x400 /*FILES*/ | 0x800 /*SIGHAND*/ |
                              0x10000 /*THREAD*/ | 0x40000 /*SYSVSEM*/ | 0x80000 /*SETTLS*/ |
                              0x100000 /*PARENT_SETTID*/;
  for (uint32_t i = 0; i < S.v.nthreads; i++) {
    if ((int)i == S.main_idx) continue;
    const amber_thread& t = S.v.threads[i];
    unsigned long fl = flags;
    // glibc's struct pthread caches the tid and pthread_join waits on it (PITFALLS 2): the
    // kernel writes the new tid there (CHILD_SETTID) and clears it at exit (CHILD_CLEARTID).
    if (t.ctid_addr) fl |= 0x01000000 /*CHILD_SETTID*/ | 0x00200000 /*CHILD_CLEARTID*/;
    char* stack = S.blob + S.stacks_at + (uint64_t)(i + 1) * kThreadStack;
    long r = amber_clone_thread(fl, stack, &h->new_tids[i], (int32_t*)t.ctid_addr, t.fs_base,
                                thread_entry, (void*)&t);
    if (r < 0) die(EXIT_SYSTEM, "cannot create a thread", nullptr, r);
  }
  restore_timers();
  close_strays();
  sys::close(S.imgfd);

  const amber_thread& m = S.v.threads[S.main_idx];
  if (m.ctid_addr) {
    *reinterpret_cast<volatile int32_t*>(m.ctid_addr) = h->new_pid;
    sys::set_tid_address((void*)m.clear_tid_addr);
  }
  sys::arch_prctl(0x1002 /*ARCH_SET_FS*/, m.fs_base);
  enter_thread(m);
}

bool sockinfo_of(int k, const amber_fd& f, amber_sockinfo* si, const char** inflight) {
  const char* d;
  uint32_t len;
  if (f.kind != AMBER_FD_SOCKET || !amber_str_at(&g_imgs[k].v, f.data, &d, &len) || len < sizeof *si) return false;
  memcpy(si, d, sizeof *si);
  if (sizeof *si + si->inflight_len > len || si->local_len > sizeof si->local || si->peer_len > sizeof si->peer) return false;
  *inflight = d + sizeof *si;
  return true;
}

void warn_fd(const char* what, const amber_fd& f, long err, const char* then) {
  char buf[240];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: fd ").i(f.fd).s(": ").s(what).s(" (errno ").i(-err).s("); ").s(then).c('\n');
  sys::write_all(2, buf, o.len);
}

void warn_sock(const char* what, const amber_fd& f, long err) { warn_fd(what, f, err, "it becomes /dev/null"); }

// A new connected pair for two saved ends: a socketpair for Unix sockets, a real TCP connection
// over loopback for inet ones (the addresses differ from the saved ones; the byte streams do not).
bool new_pair(const amber_sockinfo& si, int* a, int* b) {
  if (si.family == 1) {
    int sv[2];
    if (sys::sc4(53 /*socketpair*/, 1, si.type | O_CLOEXEC_, 0, (long)sv) < 0) return false;
    *a = sv[0];
    *b = sv[1];
    return true;
  }
  uint8_t addr[28] = {};
  uint32_t alen;
  if (si.family == 2) { addr[0] = 2; addr[4] = 127; addr[7] = 1; alen = 16; }
  else { addr[0] = 10; addr[23] = 1; alen = 28; }
  long l = sys::socket(si.family, 1 /*SOCK_STREAM*/ | O_CLOEXEC_, 0);
  if (l < 0) return false;
  bool ok = sys::sc3(49 /*bind*/, l, (long)addr, alen) == 0 && sys::sc2(50 /*listen*/, l, 1) == 0 &&
            sys::sc3(51 /*getsockname*/, l, (long)addr, (long)&alen) == 0;
  long c = ok ? sys::socket(si.family, 1 | O_CLOEXEC_, 0) : -1;
  ok = ok && c >= 0 && sys::connect((int)c, addr, (int)alen) == 0;
  long s = ok ? sys::sc4(288 /*accept4*/, l, 0, 0, O_CLOEXEC_) : -1;
  sys::close((int)l);
  if (!ok || s < 0) { if (c >= 0) sys::close((int)c); return false; }
  *a = (int)c;
  *b = (int)s;
  return true;
}

int unnamed_unix() {
  int n = 0;
  for (int k = 0; k < g_nimgs; k++)
    for (uint32_t i = 0; i < g_imgs[k].v.nfds; i++) {
      amber_sockinfo si;
      const char* in;
      const amber_fd& f = g_imgs[k].v.fds[i];
      if (f.subkind == AMBER_SOCK_CONNECTED && !restart_stdio(f, k) && sockinfo_of(k, f, &si, &in) && si.family == 1 &&
          si.local_len <= 2 && si.peer_len <= 2 && !si.peer_ino)
        n++;
    }
  return n;
}

bool pair_by_inode(const amber_fd& f, const amber_sockinfo& si, const char* in) {
  for (int k2 = 0; k2 < g_nimgs; k2++)
    for (uint32_t i2 = 0; i2 < g_imgs[k2].v.nfds; i2++) {
      const amber_fd& f2 = g_imgs[k2].v.fds[i2];
      amber_sockinfo s2;
      const char* in2;
      if (f2.kind != AMBER_FD_SOCKET || f2.inode != si.peer_ino || f2.inode == f.inode || restart_stdio(f2, k2) ||
          !sockinfo_of(k2, f2, &s2, &in2))
        continue;
      int a, b;
      if (!new_pair(si, &a, &b)) { warn_sock("cannot rebuild a connection", f, -22); return true; }
      if (si.inflight_len) sys::write_all(b, in, si.inflight_len);
      if (s2.inflight_len) sys::write_all(a, in2, s2.inflight_len);
      int la = (int)lift(a), lb = (int)lift(b);
      for (int k3 = 0; k3 < g_nimgs; k3++)
        for (uint32_t i3 = 0; i3 < g_imgs[k3].v.nfds; i3++) {
          const amber_fd& f3 = g_imgs[k3].v.fds[i3];
          if (f3.kind != AMBER_FD_SOCKET || restart_stdio(f3, k3) || sock_lookup(k3, f3.fd) >= 0 || g_nsocks >= kMaxSocks) continue;
          if (f3.inode == f.inode) g_socks[g_nsocks++] = SharedSock{k3, f3.fd, la};
          else if (f3.inode == f2.inode) g_socks[g_nsocks++] = SharedSock{k3, f3.fd, lb};
        }
      return true;
    }
  return false;
}

void build_sockets() {
  for (int i = 0; i < g_npassed && g_nsocks < kMaxSocks; i++)
    g_socks[g_nsocks++] = SharedSock{g_passed[i].img, g_passed[i].fd, (int)lift(g_passed[i].nfd)};
  for (int k = 0; k < g_nimgs; k++) {
    const amber_view& v = g_imgs[k].v;
    for (uint32_t i = 0; i < v.nfds; i++) {
      const amber_fd& f = v.fds[i];
      amber_sockinfo si;
      const char* in;
      if (restart_stdio(f, k) || sock_lookup(k, f.fd) >= 0 || !sockinfo_of(k, f, &si, &in)) continue;
      if (g_nsocks + 2 > kMaxSocks) return;
      if (f.subkind == AMBER_SOCK_LISTEN) {
        long s = sys::socket(si.family, si.type | O_CLOEXEC_, si.protocol);
        if (s < 0) { warn_sock("cannot recreate a listening socket", f, s); continue; }
        int one = 1;
        sys::sc5(54 /*setsockopt*/, s, 1 /*SOL_SOCKET*/, 2 /*SO_REUSEADDR*/, (long)&one, sizeof one);
        // A Unix listener's path still exists from the run that was checkpointed.
        if (si.family == 1 && si.local_len > 2 && si.local[2]) sys::sc1(87 /*unlink*/, (long)(si.local + 2));
        long r = sys::sc3(49 /*bind*/, s, (long)si.local, si.local_len);
        if (r == 0) r = sys::sc2(50 /*listen*/, s, 128);
        if (r < 0) { warn_sock("cannot bind its listening address again", f, r); sys::close((int)s); continue; }
        g_socks[g_nsocks++] = SharedSock{k, f.fd, (int)lift(s)};
      } else if (f.subkind == AMBER_SOCK_CONNECTED && si.family == 1 && si.peer_ino) {
        // A Unix connection whose peer the kernel named (sock_diag): pair by inode. Every
        // descriptor of either socket (dup'ed, inherited) gets the same new end.
        if (pair_by_inode(f, si, in)) continue;
        warn_sock("its other end is not part of the computation", f, -107 /*ENOTCONN*/);
      } else if (f.subkind == AMBER_SOCK_CONNECTED) {
        // Unnamed Unix sockets (socketpair) all have the same empty addresses: pairing by address
        // is only unambiguous when the tree has exactly two of them (images before format 1.3).
        if (si.family == 1 && si.local_len <= 2 && si.peer_len <= 2 && unnamed_unix() != 2) {
          warn_sock("an unnamed Unix socket cannot be told from the others", f, -22);
          continue;
        }
        bool paired = false;
        // Its other end, in this tree: the socket whose addresses are ours swapped.
        for (int k2 = 0; k2 < g_nimgs; k2++) {
          const amber_view& v2 = g_imgs[k2].v;
          for (uint32_t i2 = 0; i2 < v2.nfds; i2++) {
            const amber_fd& f2 = v2.fds[i2];
            amber_sockinfo s2;
            const char* in2;
            if ((k2 == k && f2.fd == f.fd) || f2.subkind != AMBER_SOCK_CONNECTED || sock_lookup(k2, f2.fd) >= 0 ||
                restart_stdio(f2, k2) || !sockinfo_of(k2, f2, &s2, &in2))
              continue;
            if (s2.local_len != si.peer_len || s2.peer_len != si.local_len || memcmp(s2.local, si.peer, si.peer_len) ||
                memcmp(s2.peer, si.local, si.local_len) || s2.family != si.family)
              continue;
            int a, b;
            if (!new_pair(si, &a, &b)) { warn_sock("cannot rebuild a connection", f, -22); goto next_fd; }
            // What each end had waiting to be read is sent again by the other end.
            if (si.inflight_len) sys::write_all(b, in, si.inflight_len);
            if (s2.inflight_len) sys::write_all(a, in2, s2.inflight_len);
            g_socks[g_nsocks++] = SharedSock{k, f.fd, (int)lift(a)};
            g_socks[g_nsocks++] = SharedSock{k2, f2.fd, (int)lift(b)};
            paired = true;
            goto next_fd;
          }
        }
        if (!paired) warn_sock("its other end is not part of the computation", f, -107 /*ENOTCONN*/);
      }
    next_fd:;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pseudo-terminals. A pty whose master is held by a process of the tree (a shell job run by
// `script`, an expect-like driver, a terminal multiplexer) is made again as a new pair before the
// fork: every saved master descriptor of it gets the new master, every slave descriptor the new
// slave, with the saved terminal settings and window size. Its number (/dev/pts/N) may differ.
// A terminal whose master is outside (the user's own terminal) is not ours to rebuild: a
// descriptor to the very terminal the root had as stdio becomes the restart's own (as stdio does).
uint64_t pts_rdev(uint64_t index) {  // the kernel's new_encode_dev(MKDEV(136 + index / 2^20, index % 2^20))
  uint64_t major = 136 + (index >> 20), minor = index & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffull) << 12);
}

void build_ptys() {
  for (int k = 0; k < g_nimgs; k++)
    for (uint32_t i = 0; i < g_imgs[k].v.nfds; i++) {
      const amber_fd& f = g_imgs[k].v.fds[i];
      if (f.kind != AMBER_FD_CHR || f.subkind != AMBER_CHR_PTMX || restart_stdio(f, k) || shared_pty(f) ||
          g_nptys >= kMaxPtys)
        continue;
      long m = sys::open("/dev/ptmx", O_RDWR_ | O_NOCTTY_ | O_CLOEXEC_, 0);
      if (m < 0) { warn_fd("cannot open /dev/ptmx to rebuild its pseudo-terminal", f, m, "it is reopened at its path"); continue; }
      int zero = 0;
      sys::sc3(16 /*ioctl*/, m, 0x40045431 /*TIOCSPTLCK*/, (long)&zero);
      long sl = sys::sc3(16, m, 0x5441 /*TIOCGPTPEER*/, O_RDWR_ | O_NOCTTY_ | O_CLOEXEC_);
      if (sl < 0) { warn_fd("cannot open its new pseudo-terminal's slave", f, sl, "it is reopened at its path"); sys::close((int)m); continue; }
      // The saved settings: from any end of this pty that has them (all ends saw the same tty).
      for (int k2 = 0; k2 < g_nimgs; k2++)
        for (uint32_t i2 = 0; i2 < g_imgs[k2].v.nfds; i2++) {
          const amber_fd& f2 = g_imgs[k2].v.fds[i2];
          const char* d;
          uint32_t len;
          if (f2.kind != AMBER_FD_CHR || f2.subkind != AMBER_CHR_PTMX || f2.extra != f.extra ||
              !amber_str_at(&g_imgs[k2].v, f2.data, &d, &len) || len < sizeof(amber_ptyinfo))
            continue;
          amber_ptyinfo pi;
          memcpy(&pi, d, sizeof pi);
          if (pi.out_len > len - sizeof pi) continue;
          if ((pi.flags & AMBER_PTY_TERMIOS) && pi.out_len) {
            // The output the master had not read yet, back where it was: written by the slave
            // side with output processing off (it was processed when first written).
            uint8_t raw[60];
            memcpy(raw, pi.termios, sizeof raw);
            raw[4] &= (uint8_t)~1u;  // c_oflag &= ~OPOST
            sys::sc3(16, sl, 0x402c542b /*TCSETS2*/, (long)raw);
            sys::write_all((int)sl, d + sizeof pi, pi.out_len);
          }
          if (pi.flags & AMBER_PTY_TERMIOS) sys::sc3(16, sl, 0x402c542b /*TCSETS2*/, (long)pi.termios);
          if (pi.flags & AMBER_PTY_WINSIZE) sys::sc3(16, m, 0x5414 /*TIOCSWINSZ*/, (long)pi.winsize);
          goto set;
        }
    set:
      g_ptys[g_nptys++] = SharedPty{f.extra, (int)lift(m), (int)lift(sl)};
    }
}

void build_shares() {
  for (int gi = 0; gi < g_nshares; gi++) {
    g_share_fd[gi] = -1;
    for (int i = 0; i < g_nshfd && g_share_fd[gi] < 0; i++) {
      if (g_shfd[i].grp != gi || g_shfd[i].img >= g_nimgs) continue;
      const amber_view& v = g_imgs[g_shfd[i].img].v;
      for (uint32_t k = 0; k < v.nfds; k++) {
        const amber_fd& f = v.fds[k];
        if (f.fd != g_shfd[i].fd || (f.kind != AMBER_FD_FILE && f.kind != AMBER_FD_DIR)) continue;
        char path[4096];
        const char* d;
        uint32_t len;
        if (!amber_str_at(&v, f.path, &d, &len) || len >= sizeof path) break;
        memcpy(path, d, len);
        path[len] = 0;
        if (len > 10 && sys::seq(path + len - 10, " (deleted)")) break;
        g_share_fd[gi] = (int)open_saved(f, path);
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Process groups and sessions (format 1.3). Sessions are made while the tree is forked: a session
// leader calls setsid() after forking the children that stayed in the older session and before
// forking those that belong to its own (sessions are inherited, and no process can join another
// session later). Process groups are set once every process exists: a group's leader creates it,
// its members join it by the leader's new kernel pid (published in a page shared by the tree).
// A group or session whose leader is not in the computation (the shell's that launched it) is
// the restart's own: those processes stay where they are forked.
struct Shared {
  volatile int32_t real[kMaxImgs];      // kernel pid of each image's process
  volatile uint32_t grp_ready[kMaxImgs];  // 1 once that process's group exists
};
Shared* g_sh;

const amber_process& proc_of(int k) { return *g_imgs[k].v.proc; }
bool has_session_info(int k) { return proc_of(k).app_pid != 0; }
bool session_leader(int k) { return has_session_info(k) && proc_of(k).sid == proc_of(k).app_pid; }

// The image whose process leads (or, if its leader is gone, first belongs to) group pgid; -1 if
// the group is not the computation's.
int group_leader(int32_t pgid) {
  if (!pgid) return -1;
  for (int k = 0; k < g_nimgs; k++) if (has_session_info(k) && proc_of(k).app_pid == pgid) return k;
  bool internal = false;  // a member other than through the root's group: the leader was ours
  for (int k = 0; k < g_nimgs; k++)
    if (has_session_info(k) && proc_of(k).pgid == pgid && proc_of(k).sid != proc_of(0).sid) internal = true;
  if (!internal) return -1;
  for (int k = 0; k < g_nimgs; k++) if (has_session_info(k) && proc_of(k).pgid == pgid) return k;
  return -1;
}

void warn_me(const char* what, long err) {
  char buf[300];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: process ").i(has_session_info(g_me) ? proc_of(g_me).app_pid : 0).s(": ").s(what);
  if (err) o.s(" (errno ").i(-err).s(")");
  o.c('\n');
  sys::write_all(2, buf, o.len);
}

// Right after setsid(): the session's controlling terminal, when it is a pty we rebuilt.
void take_ctty() {
  const amber_process& p = proc_of(g_me);
  if (!p.ctty_rdev) return;
  for (int k = 0; k < g_nptys; k++)
    if (pts_rdev(g_ptys[k].index) == p.ctty_rdev) {
      long r = sys::sc3(16 /*ioctl*/, g_ptys[k].s, 0x540e /*TIOCSCTTY*/, 0);
      if (r < 0) warn_me("cannot make its pseudo-terminal the controlling terminal again", r);
      return;
    }
}

bool wait_ready(int k) {
  sys::ktimespec ms{0, 1000000};
  for (int i = 0; i < 10000; i++) {  // ~10 s: every leader only has to be forked
    if (__atomic_load_n(&g_sh->grp_ready[k], __ATOMIC_ACQUIRE)) return true;
    sys::nanosleep(&ms, nullptr);
  }
  return false;
}

void set_group() {
  if (!has_session_info(g_me)) { __atomic_store_n(&g_sh->grp_ready[g_me], 1u, __ATOMIC_RELEASE); return; }
  const amber_process& p = proc_of(g_me);
  int lead = group_leader(p.pgid);
  if (lead == g_me) {
    long r = session_leader(g_me) ? 0 : sys::sc2(109 /*setpgid*/, 0, 0);
    if (r < 0) warn_me("cannot recreate its process group", r);
  }
  __atomic_store_n(&g_sh->grp_ready[g_me], 1u, __ATOMIC_RELEASE);
  if (lead >= 0 && lead != g_me) {
    long r = wait_ready(lead) ? sys::sc2(109, 0, g_sh->real[lead]) : -110 /*ETIMEDOUT*/;
    if (r < 0) warn_me("cannot rejoin its process group", r);
  }
  // The terminal's foreground group, set by the session leader once that group exists.
  if (session_leader(g_me) && p.tpgid && p.ctty_rdev) {
    int fg = group_leader(p.tpgid);
    for (int k = 0; k < g_nptys; k++)
      if (fg >= 0 && pts_rdev(g_ptys[k].index) == p.ctty_rdev && wait_ready(fg)) {
        int32_t pg = g_sh->real[fg];
        long r = sys::sc3(16 /*ioctl*/, g_ptys[k].s, 0x5410 /*TIOCSPGRP*/, (long)&pg);
        if (r < 0) warn_me("cannot set its terminal's foreground process group", r);
      }
  }
}

}  // namespace

extern "C" void restorer_main(uint64_t* sp) {
  int argc = (int)sp[0];
  char** argv = reinterpret_cast<char**>(sp + 1);
  char** envp = argv + argc + 1;
  // Nothing may interrupt the restore; restored threads keep everything blocked until the
  // agent's handler returns through rt_sigreturn, which restores each thread's own mask.
  uint64_t all = ~0ull;
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &all, nullptr);

  bool check_only = false;
  int next_parent = -1;
  for (int i = 1; i < argc; i++) {
    if (sys::seq(argv[i], "--check")) check_only = true;
    else if (sys::seq(argv[i], "--help") || sys::seq(argv[i], "-h")) {
      put("usage: amber-restart [--check] IMAGE [--parent N IMAGE]... [--share P:FD,P:FD...]...\n"
          "Restores the process saved in IMAGE (normally run by `amber restart`). Further images\n"
          "are restored as children of image N (0 = the first), forming the saved process tree.\n"
          "  --check  validate the images and this host without restoring\n"
          "  --share  these descriptors (image P's FD) are one open file description: one offset\n"
          "  --sockfd P:FD:N  image P's socket FD is the connection inherited as our fd N\n");
      sys::exit_group(0);
    } else if (sys::seq(argv[i], "--sockfd") && i + 1 < argc) {
      // P:FD:N — image P's saved socket FD is the connection restart made and passed as our fd N
      // (its other end went to another tree's restorer: lib/sockets.ts).
      const char* q = argv[++i];
      int img = (int)sys::parse_u(&q, 10);
      int32_t fd = *q == ':' ? (q++, (int32_t)sys::parse_u(&q, 10)) : -1;
      int n = *q == ':' ? (q++, (int)sys::parse_u(&q, 10)) : -1;
      if (*q || fd < 0 || n < 3 || g_npassed >= kMaxSocks) { put("amber: amber-restart: --sockfd takes P:FD:N\n"); sys::exit_group(2); }
      g_passed[g_npassed++] = SharedSock{img, fd, n};
    } else if (sys::seq(argv[i], "--share") && i + 1 < argc) {
      // P:FD,P:FD,... (P: position of the image in this command line, counting from 0)
      const char* q = argv[++i];
      if (g_nshares >= kMaxShares) continue;
      int gi = g_nshares++;
      while (*q && g_nshfd < kMaxShareFds) {
        int img = (int)sys::parse_u(&q, 10);
        if (*q != ':') break;
        q++;
        int32_t fd = (int32_t)sys::parse_u(&q, 10);
        g_shfd[g_nshfd++] = ShareFd{gi, img, fd};
        if (*q != ',') break;
        q++;
      }
      if (*q) { put("amber: amber-restart: --share takes P:FD,P:FD,...\n"); sys::exit_group(2); }
    } else if (sys::seq(argv[i], "--parent") && i + 1 < argc) {
      const char* q = argv[++i];
      next_parent = (int)sys::parse_u(&q, 10);
      if (*q || next_parent >= g_nimgs) { put("amber: amber-restart: --parent must name an earlier image\n"); sys::exit_group(2); }
    } else if (g_nimgs < kMaxImgs) {
      if (g_nimgs > 0 && next_parent < 0) { put("amber: amber-restart: further images need --parent N\n"); sys::exit_group(2); }
      sys::Out(g_imgs[g_nimgs].image, sizeof g_imgs[g_nimgs].image).s(argv[i]);
      g_imgs[g_nimgs++].parent = next_parent;
      next_parent = -1;
    } else { put("amber: amber-restart: too many images\n"); sys::exit_group(2); }
  }
  if (!g_nimgs) { put("usage: amber-restart [--check] IMAGE [--parent N IMAGE]...\n"); sys::exit_group(2); }
  if (const char* c = getenv_(envp, "AMBER_COORD")) {
    size_t n = sys::slen(c);
    if (n >= sizeof S.coord) n = sizeof S.coord - 1;
    memcpy(S.coord, c, n);
  }
  if (const char* t = getenv_(envp, "AMBER_TOKEN")) {
    size_t n = sys::slen(t);
    if (n >= sizeof S.token) n = sizeof S.token - 1;
    memcpy(S.token, t, n);
  }

  // Stage 1, for every image: nothing is started unless all of them can be.
  {
    static char mbuf[64 * 1024];
    read_current_specials(mbuf, sizeof mbuf);
  }
  for (int k = 0; k < g_nimgs; k++) {
    Img& im = g_imgs[k];
    S.image[0] = 0;
    load_and_validate(im.image);
    long tmp = sys::mmap(nullptr, S.hdr.meta_size + kPage, PROT_R | PROT_W, MAP_PRIVATE_ | MAP_ANON_, -1, 0);
    if (tmp < 0) die(EXIT_SYSTEM, "out of memory", nullptr, tmp);
    load_meta(reinterpret_cast<char*>(tmp));
    check_trailer();
    check_cpu();
    check_vdso();
    check_files();
    S.main_idx = -1;
    for (uint32_t i = 0; i < S.v.nthreads; i++)
      if (S.v.threads[i].flags & AMBER_THR_MAIN) S.main_idx = (int)i;
    if (S.main_idx < 0) die(EXIT_IMAGE, "image has no main thread");
    if (check_only) {
      // Chunk checksums too: read every chunk once.
      static char cbuf[AMBER_CHUNK_MAX];
      for (uint32_t i = 0; i < S.v.nchunks; i++) {
        const amber_chunk& c = S.v.chunks[i];
        long r = sys::pread_all(S.imgfd, cbuf, c.len, c.file_off);
        if (r < 0) die(EXIT_IMAGE, "image is truncated", nullptr, 0, c.file_off);
        amber_err err{};
        if (!amber_check_chunk(&c, cbuf, &err)) die_img(err);
      }
    }
    memcpy(im.image, S.image, sizeof im.image);
    im.imgfd = S.imgfd;
    im.file_size = S.file_size;
    im.hdr = S.hdr;
    im.v = S.v;
    im.main_idx = S.main_idx;
  }
  if (check_only) { put("amber: image ok\n"); sys::exit_group(0); }

  if (g_nimgs > 1) {
    // Pipes of the tree: one kernel pipe per saved pipe inode, above every saved descriptor
    // number, holding the bytes that were in flight; every process inherits them.
    for (int k = 0; k < g_nimgs; k++)
      for (uint32_t i = 0; i < g_imgs[k].v.nfds; i++)
        if (g_imgs[k].v.fds[i].fd > g_maxfd) g_maxfd = g_imgs[k].v.fds[i].fd;
    for (int k = 0; k < g_nimgs; k++) {
      const amber_view& v = g_imgs[k].v;
      for (uint32_t i = 0; i < v.nfds; i++) {
        const amber_fd& f = v.fds[i];
        if (f.kind != AMBER_FD_PIPE || restart_stdio(f, k) || shared_pipe(f.inode) || g_npipes >= kMaxPipes) continue;
        SharedPipe& sp = g_pipes[g_npipes++];
        sp = SharedPipe{f.inode, -1, -1};
        const amber_fd* with_data = nullptr;
        const amber_view* data_view = nullptr;
        bool reader = false;
        for (int k2 = 0; k2 < g_nimgs; k2++)
          for (uint32_t i2 = 0; i2 < g_imgs[k2].v.nfds; i2++) {
            const amber_fd& f2 = g_imgs[k2].v.fds[i2];
            if (f2.kind != AMBER_FD_PIPE || f2.inode != f.inode || restart_stdio(f2, k2)) continue;
            if (is_reader(f2)) reader = true;
            if (f2.data.len && !with_data) { with_data = &f2; data_view = &g_imgs[k2].v; }
          }
        if (!reader) continue;  // nobody reads it: writers get /dev/null (no SIGPIPE)
        int p[2];
        if (sys::sc2(293 /*pipe2*/, (long)p, O_CLOEXEC_) < 0) continue;
        sp.r = (int)lift(p[0]);
        sp.w = (int)lift(p[1]);
        if (f.extra) sys::fcntl(sp.w, 1031 /*F_SETPIPE_SZ*/, (long)f.extra);
        const char* d;
        uint32_t len;
        if (with_data && amber_str_at(data_view, with_data->data, &d, &len)) sys::write_all(sp.w, d, len);
      }
    }
  }

  for (uint32_t i = 0; i < g_imgs[0].v.nfds; i++) {
    const amber_fd& f = g_imgs[0].v.fds[i];
    if (f.fd >= 0 && f.fd <= 2) g_root_stdio[f.fd] = StdioId{f.dev, f.inode, true};
  }
  for (int k = 0; k < g_nimgs; k++)
    for (uint32_t i = 0; i < g_imgs[k].v.nfds; i++)
      if (g_imgs[k].v.fds[i].fd > g_maxfd) g_maxfd = g_imgs[k].v.fds[i].fd;
  build_sockets();
  build_ptys();
  build_shares();
  for (int j = 0; j < 3; j++) g_rstdio[j] = (int)sys::fcntl(j, 1030 /*F_DUPFD_CLOEXEC*/, g_maxfd + 1);
  {
    long sh = sys::mmap(nullptr, sizeof(Shared), PROT_R | PROT_W, MAP_SHARED_ | MAP_ANON_, -1, 0);
    if (sh < 0) die(EXIT_SYSTEM, "out of memory", nullptr, sh);
    g_sh = reinterpret_cast<Shared*>(sh);  // unmapped with everything else in stage 3
  }

  // Fork the tree (images are listed parents first): each child continues the scan for its own
  // children, then every process restores its own image. A session leader forks the children
  // that stay in the older session, calls setsid(), then forks the rest (see Shared above).
  int me = 0;
  for (bool born = true; born;) {
    born = false;
    g_me = me;
    g_sh->real[me] = (int32_t)sys::getpid();
    bool lead = session_leader(me);
    for (int pass = lead ? 0 : 1; pass < 2 && !born; pass++) {
      if (pass == 1 && lead) {
        long r = sys::sc0(112 /*setsid*/);
        if (r < 0 && r != -1 /*EPERM: already a group (or session) leader*/) warn_me("cannot recreate its session", r);
        else if (r < 0 && sys::sc1(124 /*getsid*/, 0) != sys::getpid()) warn_me("cannot recreate its session", r);
        else take_ctty();
      }
      for (int i = me + 1; i < g_nimgs; i++) {
        if (g_imgs[i].parent != me) continue;
        bool older = lead && has_session_info(i) && proc_of(i).sid != proc_of(me).app_pid;
        if (lead && (pass == 0) != older) continue;
        long pid = sys::sc5(sys::NR_clone, 17 /*SIGCHLD*/, 0, 0, 0, 0);
        if (pid < 0) die(EXIT_SYSTEM, "cannot fork the process tree", nullptr, pid);
        if (pid == 0) { me = i; born = true; break; }
      }
    }
  }
  set_group();
  for (int k = 0; k < g_nimgs; k++) if (k != me) sys::close(g_imgs[k].imgfd);
  {
    const Img& im = g_imgs[me];
    memcpy(S.image, im.image, sizeof S.image);
    S.imgfd = im.imgfd;
    S.file_size = im.file_size;
    S.hdr = im.hdr;
    S.v = im.v;
    S.main_idx = im.main_idx;
  }
  char* tmp_meta = const_cast<char*>(reinterpret_cast<const char*>(S.v.meta));

  // Stage 2: the blob.
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
  S.code_len = (image_end + kPage - 1) & ~(kPage - 1);
  S.meta_at = S.code_len;
  S.maps_at = S.meta_at + ((S.hdr.meta_size + kPage - 1) & ~(kPage - 1));
  S.vtemp_at = S.maps_at + kMapsBuf;
  S.vtemp_len = 64 * kPage;
  S.stacks_at = S.vtemp_at + S.vtemp_len;
  S.blob_len = S.stacks_at + (uint64_t)(S.v.nthreads + 1) * kThreadStack + kMainStack;
  S.blob = reinterpret_cast<char*>(pick_gap(S.blob_len));
  // The vdso temporary spot must be free (mremap onto it replaces it), and inaccessible.
  sys::munmap(S.blob + S.vtemp_at, S.vtemp_len);
  S.main_stack_top = (uint64_t)S.blob + S.blob_len - 64;
  // Metadata into the blob; parse again so every view pointer points there.
  memcpy(S.blob + S.meta_at, tmp_meta, S.hdr.meta_size);
  {
    amber_err err{};
    if (!amber_parse_meta(&S.hdr, S.blob + S.meta_at, S.hdr.meta_size, &S.v, &err)) die_img(err);
  }
  // (the other images' metadata copies go with everything else in stage 3)
  sys::munmap(tmp_meta, S.hdr.meta_size + kPage);
  // Our own loaded segments into the blob, S included (copied last: later writes would be lost).
  for (uint16_t i = 0; i < phnum; i++) {
    const uint8_t* ph = eh + phoff + (uint64_t)i * 56;
    if (*reinterpret_cast<const uint32_t*>(ph) != 1) continue;
    uint64_t va = *reinterpret_cast<const uint64_t*>(ph + 16);
    uint64_t msz = *reinterpret_cast<const uint64_t*>(ph + 40);
    memcpy(S.blob + va, eh + va, msz);
  }
  uint64_t fn = (uint64_t)&stage3 - S.load_base + (uint64_t)S.blob;
  amber_switch_stack(reinterpret_cast<void*>(S.blob + S.blob_len - 64),
                     reinterpret_cast<void (*)(void*)>(fn), nullptr);
}
