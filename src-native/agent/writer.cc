// The image writer (format: image/format.h). Runs on the checkpoint thread while every other
// thread is parked in the suspend handler, so: raw syscalls only, all working memory from the
// agent's scratch mapping (recorded NODATA in the image), no malloc, no stdio.
//
// What is stored (DESIGN "Image"): every page that cannot be got back otherwise. Untouched pages
// of anonymous memory are not stored (pagemap says not present), nor zero pages of memory that is
// restored anonymous, nor unmodified pages of private file mappings (pagemap: still a file page),
// nor shared file mappings (the file holds them), nor [vdso]/[vvar] (the kernel provides them).
#include <fcntl.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <cpuid.h>
#include <string.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "image/validate.h"  // the checksums, shared with the restorer and the reader
#include "sys/sys.h"

namespace amber {
namespace {

constexpr uint64_t kPage = AMBER_PAGE_SIZE;
constexpr uint64_t kPagemapPresent = 1ull << 63, kPagemapSwapped = 1ull << 62, kPagemapFile = 1ull << 61;
constexpr size_t kMaxWriteRun = 64u << 20;

// Bump allocator over the scratch mapping; reset at every checkpoint.
struct Arena {
  char* base;
  size_t cap, used;
  void* take(size_t n) {
    n = (n + 63) & ~size_t(63);
    if (used + n > cap) return nullptr;
    void* p = base + used;
    used += n;
    return p;
  }
};

struct Strings {
  char* buf;
  uint32_t len, cap;
  amber_str add(const char* s, size_t n) {
    amber_str r{len, 0};
    if (len + n + 1 > cap) return r;
    memmove(buf + len, s, n);  // may be called on bytes already in place (capture_pipe)
    buf[len + n] = 0;
    len += (uint32_t)n + 1;
    r.len = (uint32_t)n;
    return r;
  }
};

struct Ctx {
  Arena a;
  Strings str;
  amber_region* regions;
  uint32_t nregions, cap_regions;
  amber_chunk* chunks;
  uint32_t nchunks, cap_chunks;
  amber_fd* fds;
  uint32_t nfds;
  amber_timer* timers;
  uint32_t ntimers;
  uint64_t* pm;  // pagemap batch
  size_t pm_cap; // entries
  int pm_fd;
  int diag_fd;    // NETLINK_SOCK_DIAG, opened at the first Unix socket (0: not yet, -1: failed)
  char* err;
  size_t errlen;
  char* tmp;      // 8 KiB scratch for paths and /proc text: keeps our stack (saved) small
  char* info;     // fdinfo text (an epoll's interest list can be long)
  amber_epoll_entry* ep;
};
constexpr size_t kInfo = 256 * 1024;
constexpr uint32_t kEp = 8192;

long fail(Ctx& c, long code, const char* a, const char* b = "") {
  sys::Out(c.err, c.errlen).s(a).s(b);
  return code;
}

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

// One line of /proc/self/maps → a region (possibly split around the scratch mapping).
long add_region(Ctx& c, uint64_t start, uint64_t end, const char* perms, uint64_t off,
                uint64_t inode, const char* path, size_t plen) {
  if (c.nregions >= c.cap_regions) return fail(c, -E2BIG, "too many memory regions");
  amber_region& r = c.regions[c.nregions];
  memset(&r, 0, sizeof r);
  r.start = start;
  r.end = end;
  r.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
           (perms[2] == 'x' ? PROT_EXEC : 0);
  if (perms[3] == 's') r.flags |= AMBER_REG_SHARED;
  r.file_off = off;
  r.inode = inode;
  if (plen && path[0] == '[') {
    if (plen == 6 && !memcmp(path, "[vdso]", 6)) r.flags |= AMBER_REG_VDSO;
    else if (plen == 6 && !memcmp(path, "[vvar]", 6)) r.flags |= AMBER_REG_VVAR;
    else if (plen == 13 && !memcmp(path, "[vvar_vclock]", 13)) r.flags |= AMBER_REG_VVAR_VCLOCK;
    else if (plen == 10 && !memcmp(path, "[vsyscall]", 10)) r.flags |= AMBER_REG_VSYSCALL;
    else if (plen == 6 && !memcmp(path, "[heap]", 6)) r.flags |= AMBER_REG_HEAP;
    else if (plen == 7 && !memcmp(path, "[stack]", 7)) r.flags |= AMBER_REG_STACK;
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
  // The scratch mapping: its range, and only it, carries no data.
  uint64_t s0 = (uint64_t)g.scratch, s1 = s0 + g.scratch_len;
  if (start < s1 && s0 < end && !(r.flags & AMBER_REG_FILE)) {
    amber_region base = r;
    if (start < s0) {
      r.end = s0;
      c.nregions++;
      if (c.nregions >= c.cap_regions) return fail(c, -E2BIG, "too many memory regions");
    }
    amber_region& mid = c.regions[c.nregions];
    mid = base;
    mid.start = start > s0 ? start : s0;
    mid.end = end < s1 ? end : s1;
    mid.flags = AMBER_REG_NODATA;
    c.nregions++;
    if (end > s1) {
      if (c.nregions >= c.cap_regions) return fail(c, -E2BIG, "too many memory regions");
      amber_region& hi = c.regions[c.nregions];
      hi = base;
      hi.start = s1;
      c.nregions++;
    }
    return 0;
  }
  c.nregions++;
  return 0;
}

long read_maps(Ctx& c) {
  size_t cap = 16u << 20;
  char* buf = static_cast<char*>(c.a.take(cap));
  if (!buf) return fail(c, -ENOMEM, "scratch exhausted");
  size_t len = sys::read_file("/proc/self/maps", buf, cap - 1);
  if (!len) return fail(c, -EIO, "cannot read /proc/self/maps");
  buf[len] = 0;
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
    sys::parse_u(&q, 16); q++; sys::parse_u(&q, 16); q++;  // dev major:minor
    uint64_t inode = sys::parse_u(&q, 10);
    while (q < line_end && *q == ' ') q++;
    long r = add_region(c, start, end, perms, off, inode, q, (size_t)(line_end - q));
    if (r < 0) return r;
    p = *line_end ? line_end + 1 : line_end;
  }
  return 0;
}

// Does the restorer map this region from its file (so a zero page may still differ from it)?
bool restores_from_file(const amber_region& r) {
  return (r.flags & AMBER_REG_FILE) && !(r.flags & AMBER_REG_ALLDATA);
}

bool region_has_data(const amber_region& r) {
  if (r.flags & (AMBER_REG_VDSO | AMBER_REG_VVAR | AMBER_REG_VVAR_VCLOCK | AMBER_REG_VSYSCALL | AMBER_REG_NODATA))
    return false;
  if ((r.flags & AMBER_REG_SHARED) && (r.flags & AMBER_REG_FILE)) return false;
  return true;
}

long add_chunk(Ctx& c, uint32_t region, uint64_t addr, uint64_t len) {
  // Extend the previous chunk when contiguous (same region, under the size limit).
  if (c.nchunks) {
    amber_chunk& p = c.chunks[c.nchunks - 1];
    if (p.region == region && p.addr + p.len == addr && p.len + len <= AMBER_CHUNK_MAX) {
      p.len += len;
      p.stored_len = p.len;
      return 0;
    }
  }
  if (c.nchunks >= c.cap_chunks) return fail(c, -E2BIG, "too many chunks");
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
long plan_region(Ctx& c, uint32_t i) {
  amber_region& r = c.regions[i];
  r.first_chunk = c.nchunks;
  r.nchunks = 0;
  if (!region_has_data(r)) return 0;
  uint64_t dead = (r.flags & AMBER_REG_FILE) ? 0 : dead_below(r);
  bool all = r.flags & AMBER_REG_ALLDATA;
  bool file_private = restores_from_file(r);
  bool unreadable = !(r.prot & PROT_READ);
  bool opened = false;
  uint64_t npages = (r.end - r.start) / kPage;
  for (uint64_t p0 = 0; p0 < npages; p0 += c.pm_cap) {
    uint64_t n = npages - p0 < c.pm_cap ? npages - p0 : c.pm_cap;
    if (!all) {
      long rr = sys::pread_all(c.pm_fd, c.pm, n * 8, (r.start / kPage + p0) * 8);
      if (rr < 0) return fail(c, rr, "cannot read /proc/self/pagemap");
    }
    for (uint64_t k = 0; k < n; k++) {
      uint64_t addr = r.start + (p0 + k) * kPage;
      if (addr + kPage <= dead) continue;
      if (!all) {
        uint64_t e = c.pm[k];
        bool present = e & (kPagemapPresent | kPagemapSwapped);
        if (!present) continue;
        if (file_private && (e & kPagemapFile) && !(e & kPagemapSwapped)) continue;  // unmodified file page
      }
      if (unreadable && !opened) {
        // e.g. data the application mprotect'ed to PROT_NONE: readable just while we copy it.
        if (sys::mprotect((void*)r.start, r.end - r.start, r.prot | PROT_READ) < 0)
          return fail(c, -EACCES, "cannot read a protected region");
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

void restore_prot(Ctx& c) {
  for (uint32_t i = 0; i < c.nregions; i++) {
    amber_region& r = c.regions[i];
    if (!(r.prot & PROT_READ) && r.nchunks) sys::mprotect((void*)r.start, r.end - r.start, r.prot);
  }
}

void read_stat(amber_process& pr, char* buf) {
  size_t n = sys::read_file("/proc/self/stat", buf, 4095);
  buf[n] = 0;
  const char* p = buf;
  for (const char* q = buf; *q; q++) if (*q == ')') p = q;  // comm may hold spaces and parens
  // p at ')' : fields from 3 on, space separated
  uint64_t f[64] = {};
  int idx = 2;
  p++;
  while (*p && idx < 60) {
    while (*p == ' ') p++;
    idx++;
    if (*p == '-') { p++; f[idx] = 0; while (*p && *p != ' ') p++; continue; }
    const char* q = p;
    f[idx] = sys::parse_u(&q, 10);
    while (*q && *q != ' ') q++;
    p = q;
  }
  pr.start_code = f[26]; pr.end_code = f[27]; pr.start_stack = f[28];
  pr.start_data = f[45]; pr.end_data = f[46]; pr.start_brk = f[47];
  pr.arg_start = f[48]; pr.arg_end = f[49]; pr.env_start = f[50]; pr.env_end = f[51];
  // Group, session and terminal, as the application knows them (its pids, not the kernel's).
  pr.app_pid = g.app_pid;
  pr.pgid = pid::to_app((int32_t)f[5]);
  pr.sid = pid::to_app((int32_t)f[6]);
  pr.ctty_rdev = f[7];
  pr.tpgid = f[8] ? pid::to_app((int32_t)f[8]) : 0;  // "-1" (no terminal) parses as 0
}

long collect_process(Ctx& c, amber_process& pr) {
  memset(&pr, 0, sizeof pr);
  read_stat(pr, c.tmp);
  pr.brk = (uint64_t)sys::brk(0);
  char* aux = reinterpret_cast<char*>(pr.auxv);
  size_t n = sys::read_file("/proc/self/auxv", aux, sizeof pr.auxv);
  pr.auxv_words = (uint32_t)(n / 8);
  pr.personality = (uint32_t)sys::personality(0xffffffff);
  long um = sys::umask(022);
  sys::umask((int)um);
  pr.umask = (uint32_t)um;
  pr.suspend_signal = (uint32_t)g.sig;
  for (int i = 0; i < (int)AMBER_NRLIMIT; i++) {
    uint64_t v[2] = {~0ull, ~0ull};
    sys::prlimit(0, i, nullptr, v);
    pr.rlimits[i].cur = v[0];
    pr.rlimits[i].max = v[1];
  }
  for (int s = 1; s < (int)AMBER_NSIG; s++) {
    if (s == 9 || s == 19) continue;
    sys::ksigaction ka{};
    if (sys::rt_sigaction(s, nullptr, &ka) == 0) {
      pr.sigactions[s].handler = ka.handler;
      pr.sigactions[s].flags = ka.flags;
      pr.sigactions[s].restorer = ka.restorer;
      pr.sigactions[s].mask = ka.mask;
    }
  }
  for (int w = 0; w < 3; w++) {
    int64_t v[4] = {};
    sys::getitimer(w, v);
    pr.itimers[w].interval_sec = v[0];
    pr.itimers[w].interval_usec = v[1];
    pr.itimers[w].value_sec = v[2];
    pr.itimers[w].value_usec = v[3];
  }
  char* buf = c.tmp;
  n = sys::read_file("/proc/self/cmdline", buf, 8192);
  pr.cmdline = c.str.add(buf, n ? n - 1 : 0);  // drop the final NUL; inner NULs separate args
  long l = sys::readlink("/proc/self/cwd", buf, 4095);
  pr.cwd = c.str.add(buf, l > 0 ? (size_t)l : 0);
  l = sys::readlink("/proc/self/exe", buf, 4095);
  pr.exe = c.str.add(buf, l > 0 ? (size_t)l : 0);
  return 0;
}

const char* field(const char* p, const char* name) {
  while (*p == ' ' || *p == '\t') p++;
  (void)name;
  return p;
}

int64_t parse_i(const char** p) {
  bool neg = **p == '-';
  if (neg) (*p)++;
  int64_t v = (int64_t)sys::parse_u(p, 10);
  return neg ? -v : v;
}

// The kernel's own account of a descriptor (/proc/self/fdinfo/N): offset, flags, and the state
// of eventfd/epoll/timerfd/signalfd objects, which no other interface reveals.
void parse_fdinfo(Ctx& c, amber_fd& f) {
  amber_epoll_entry* ep = c.ep;
  uint32_t nep = 0, cap_ep = kEp;
  amber_timerfd tf{};
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "pos:")) { p = field(p + 4, ""); f.pos = sys::parse_u(&p, 10); }
    else if (sys::sstarts(p, "flags:")) { p = field(p + 6, ""); f.flags = (int32_t)sys::parse_u(&p, 8); }
    else if (sys::sstarts(p, "eventfd-count:")) { p = field(p + 14, ""); f.extra = sys::parse_u(&p, 16); }
    else if (sys::sstarts(p, "eventfd-semaphore:")) { p = field(p + 18, ""); if (*p == '1') f.fd_flags |= AMBER_FD_SEMAPHORE; }
    else if (sys::sstarts(p, "sigmask:")) { p = field(p + 8, ""); f.extra = sys::parse_u(&p, 16); }
    else if (sys::sstarts(p, "tfd:") && nep < cap_ep) {
      p = field(p + 4, "");
      ep[nep].tfd = (int32_t)sys::parse_u(&p, 10);
      p = field(p, "");
      if (sys::sstarts(p, "events:")) { p = field(p + 7, ""); ep[nep].events = (uint32_t)sys::parse_u(&p, 16); }
      p = field(p, "");
      if (sys::sstarts(p, "data:")) { p = field(p + 5, ""); ep[nep].data = sys::parse_u(&p, 16); }
      nep++;
    }
    else if (sys::sstarts(p, "clockid:")) { p = field(p + 8, ""); tf.clockid = (int32_t)sys::parse_u(&p, 10); }
    else if (sys::sstarts(p, "ticks:")) { p = field(p + 6, ""); tf.ticks = sys::parse_u(&p, 10); }
    else if (sys::sstarts(p, "settime flags:")) { p = field(p + 14, ""); tf.settime_flags = (int32_t)sys::parse_u(&p, 8); }
    else if (sys::sstarts(p, "it_value: (")) { p += 11; tf.value_sec = parse_i(&p); p += 2; tf.value_nsec = parse_i(&p); }
    else if (sys::sstarts(p, "it_interval: (")) { p += 14; tf.interval_sec = parse_i(&p); p += 2; tf.interval_nsec = parse_i(&p); }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  if (f.subkind == AMBER_ANON_EPOLL) f.data = c.str.add(reinterpret_cast<const char*>(ep), nep * sizeof *ep);
  if (f.subkind == AMBER_ANON_TIMERFD) f.data = c.str.add(reinterpret_cast<const char*>(&tf), sizeof tf);
}

// A pseudo-terminal end: which pty (its index), and the terminal's settings and window size so
// the new pair made at restart behaves the same (raw mode, echo, size). On the master side, the
// output the slave side wrote that nobody read yet: a tty cannot be peeked, so it is read and at
// once written back through a slave descriptor of our own with output processing off (the bytes
// were processed when first written), which puts the same bytes back in the same place; every
// process is frozen meanwhile, so nobody sees the difference. Input the slave had not read yet
// is not saved.
void capture_pty(Ctx& c, amber_fd& f, uint64_t rdev) {
  uint32_t major = (uint32_t)((rdev >> 8) & 0xfff), minor = (uint32_t)((rdev & 0xff) | ((rdev >> 12) & 0xfff00));
  if (major >= 136 && major <= 143) {  // UNIX98_PTY_SLAVE_MAJOR .. + 7
    f.subkind = AMBER_CHR_PTS;
    f.extra = (uint64_t)(major - 136) * 256 * 1024 + minor;  // (only major 136 in practice)
  } else if (major == 5 && minor == 2) {  // /dev/ptmx
    f.subkind = AMBER_CHR_PTMX;
    for (const char* p = c.info; *p;) {
      if (sys::sstarts(p, "tty-index:")) { p = field(p + 10, ""); f.extra = sys::parse_u(&p, 10); break; }
      while (*p && *p != '\n') p++;
      if (*p) p++;
    }
  } else {
    return;
  }
  amber_ptyinfo pi{};
  if (sys::sc3(16 /*ioctl*/, f.fd, 0x802c542a /*TCGETS2*/, (long)pi.termios) == 0) pi.flags |= AMBER_PTY_TERMIOS;
  if (sys::sc3(16, f.fd, 0x5413 /*TIOCGWINSZ*/, (long)pi.winsize) == 0) pi.flags |= AMBER_PTY_WINSIZE;
  uint32_t room = c.str.cap - c.str.len - 1;
  if (room < sizeof pi) return;
  char* dst = c.str.buf + c.str.len;
  char* out = dst + sizeof pi;
  int avail = 0;
  if (f.subkind == AMBER_CHR_PTMX && (f.flags & O_ACCMODE) != O_WRONLY &&
      sys::sc3(16, f.fd, 0x541b /*FIONREAD*/, (long)&avail) == 0 && avail > 0 && (pi.flags & AMBER_PTY_TERMIOS)) {
    if ((uint32_t)avail > room - sizeof pi) avail = (int)(room - sizeof pi);
    long peer = sys::sc3(16, f.fd, 0x5441 /*TIOCGPTPEER*/, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    long got = 0;
    if (peer >= 0) {
      while (got < avail) {
        long r = sys::read(f.fd, out + got, (size_t)(avail - got));
        if (r <= 0) break;
        got += r;
      }
      uint8_t raw[60];
      memcpy(raw, pi.termios, sizeof raw);
      raw[4] &= (uint8_t)~1u;  // c_oflag &= ~OPOST (c_oflag is the second 32-bit word)
      sys::sc3(16, peer, 0x402c542b /*TCSETS2*/, (long)raw);
      sys::write_all((int)peer, out, (size_t)got);
      sys::sc3(16, peer, 0x402c542b, (long)pi.termios);
      sys::close((int)peer);
    }
    pi.out_len = (uint32_t)got;
  }
  memcpy(dst, &pi, sizeof pi);
  f.data = c.str.add(dst, sizeof pi + pi.out_len);
}

// Bytes in flight in a pipe we can read: copied with tee(2), which leaves them in the pipe.
void capture_pipe(Ctx& c, amber_fd& f) {
  long sz = sys::fcntl(f.fd, 1032 /*F_GETPIPE_SZ*/, 0);
  f.extra = sz > 0 ? (uint64_t)sz : 0;
  if ((f.flags & O_ACCMODE) != O_RDONLY && (f.flags & O_ACCMODE) != O_RDWR) return;
  int tp[2];
  if (sys::sc2(293 /*pipe2*/, (long)tp, O_CLOEXEC | O_NONBLOCK) < 0) return;
  if (sz > 0) sys::fcntl(tp[1], 1031 /*F_SETPIPE_SZ*/, sz);
  long n = sys::sc4(276 /*tee*/, f.fd, tp[1], 1 << 20, 2 /*SPLICE_F_NONBLOCK*/);
  if (n > 0 && (uint64_t)n <= c.str.cap - c.str.len - 1) {
    char* dst = c.str.buf + c.str.len;
    long got = 0;
    while (got < n) {
      long r = sys::read(tp[0], dst + got, (size_t)(n - got));
      if (r <= 0) break;
      got += r;
    }
    f.data = c.str.add(dst, (size_t)got);  // add() copies onto itself: same place
  }
  sys::close(tp[0]);
  sys::close(tp[1]);
}

// TCP connections are set to abort on close (SO_LINGER 0) while the process is frozen, and set
// back at resume (sockets_resumed). If the process is killed after the checkpoint (--kill, a
// Slurm requeue) its connections are reset rather than left in TIME_WAIT / FIN_WAIT, which would
// keep the restart from binding the same listening port again for a minute (a TIME_WAIT socket
// blocks a bind unless both had SO_REUSEADDR, and most applications' accepted sockets do not).
struct Linger { int32_t fd, onoff, secs; };
constexpr uint32_t kMaxLinger = 4096;
Linger g_linger[kMaxLinger];
uint32_t g_nlinger;

void abort_on_close(int fd) {
  if (g_nlinger >= kMaxLinger) return;
  int32_t old[2] = {0, 0};
  uint32_t len = sizeof old;
  if (sys::sc5(55 /*getsockopt*/, fd, 1 /*SOL_SOCKET*/, 13 /*SO_LINGER*/, (long)old, (long)&len) < 0) return;
  int32_t now[2] = {1, 0};
  if (sys::sc5(54 /*setsockopt*/, fd, 1, 13, (long)now, sizeof now) < 0) return;
  g_linger[g_nlinger++] = Linger{fd, old[0], old[1]};
}

// The peer of a connected Unix socket, by inode (sock_diag, UNIX_DIAG_PEER; no privilege
// needed): socketpairs have no addresses, and many clients of one listener have the same ones,
// so only the inode tells the restorer which two ends belong together.
uint32_t unix_peer_inode(Ctx& c, uint64_t inode) {
  if (c.diag_fd == 0) {
    long s = sys::socket(16 /*AF_NETLINK*/, 2 /*SOCK_DGRAM*/ | O_CLOEXEC, 4 /*NETLINK_SOCK_DIAG*/);
    c.diag_fd = s >= 0 ? (int)s : -1;
  }
  if (c.diag_fd < 0) return 0;
  struct {
    uint32_t nlmsg_len;
    uint16_t nlmsg_type, nlmsg_flags;
    uint32_t nlmsg_seq, nlmsg_pid;
    uint8_t family, protocol;
    uint16_t pad;
    uint32_t states, ino, show, cookie[2];
  } req = {};
  req.nlmsg_len = sizeof req;
  req.nlmsg_type = 20;  // SOCK_DIAG_BY_FAMILY
  req.nlmsg_flags = 1;  // NLM_F_REQUEST
  req.nlmsg_seq = (uint32_t)inode;
  req.family = 1;       // AF_UNIX
  req.states = ~0u;
  req.ino = (uint32_t)inode;
  req.show = 4;         // UDIAG_SHOW_PEER
  req.cookie[0] = req.cookie[1] = ~0u;  // no cookie check
  if (sys::write(c.diag_fd, &req, sizeof req) != (long)sizeof req) return 0;
  alignas(8) char buf[1024];
  long n = sys::read(c.diag_fd, buf, sizeof buf);
  // nlmsghdr (16) + unix_diag_msg (16), then attributes (nlattr: len, type; 4-byte aligned).
  if (n < 32 || *reinterpret_cast<uint16_t*>(buf + 4) != 20) return 0;
  uint32_t len = *reinterpret_cast<uint32_t*>(buf);
  if (len > (uint64_t)n) return 0;
  for (uint32_t off = 32; off + 4 <= len;) {
    uint16_t alen = *reinterpret_cast<uint16_t*>(buf + off), type = *reinterpret_cast<uint16_t*>(buf + off + 2);
    if (alen < 4 || off + alen > len) break;
    if (type == 2 /*UNIX_DIAG_PEER*/ && alen >= 8) return *reinterpret_cast<uint32_t*>(buf + off + 4);
    off += (alen + 3u) & ~3u;
  }
  return 0;
}

// A socket: family/type, both addresses, listening or connected, and the bytes waiting in its
// receive queue (MSG_PEEK: the application still reads them if the checkpoint is not used).
void capture_socket(Ctx& c, amber_fd& f) {
  amber_sockinfo si{};
  int v = 0;
  uint32_t vl = sizeof v;
  if (sys::sc5(55 /*getsockopt*/, f.fd, 1 /*SOL_SOCKET*/, 39 /*SO_DOMAIN*/, (long)&v, (long)&vl) == 0) si.family = (uint16_t)v;
  vl = sizeof v;
  if (sys::sc5(55, f.fd, 1, 3 /*SO_TYPE*/, (long)&v, (long)&vl) == 0) si.type = v;
  vl = sizeof v;
  if (sys::sc5(55, f.fd, 1, 38 /*SO_PROTOCOL*/, (long)&v, (long)&vl) == 0) si.protocol = v;
  int listening = 0;
  vl = sizeof listening;
  sys::sc5(55, f.fd, 1, 30 /*SO_ACCEPTCONN*/, (long)&listening, (long)&vl);
  si.local_len = sizeof si.local;
  if (sys::sc3(51 /*getsockname*/, f.fd, (long)si.local, (long)&si.local_len) < 0) si.local_len = 0;
  si.peer_len = sizeof si.peer;
  if (sys::sc3(52 /*getpeername*/, f.fd, (long)si.peer, (long)&si.peer_len) < 0) si.peer_len = 0;
  bool inet = si.family == 2 /*AF_INET*/ || si.family == 10 /*AF_INET6*/;
  bool stream = si.type == 1 /*SOCK_STREAM*/;
  if (listening && (inet || si.family == 1 /*AF_UNIX*/)) f.subkind = AMBER_SOCK_LISTEN;
  else if (stream && si.peer_len && (inet || si.family == 1)) f.subkind = AMBER_SOCK_CONNECTED;
  int outq = 0;
  if (sys::sc3(16 /*ioctl*/, f.fd, 0x5411 /*SIOCOUTQ*/, (long)&outq) == 0 && outq > 0) si.sndq = (uint32_t)outq;
  if (inet && stream && f.subkind == AMBER_SOCK_CONNECTED) abort_on_close(f.fd);
  if (si.family == 1 && f.subkind == AMBER_SOCK_CONNECTED) si.peer_ino = unix_peer_inode(c, f.inode);
  // The record, then what is waiting to be read.
  uint32_t room = c.str.cap - c.str.len - 1;
  if (room < sizeof si) return;
  char* dst = c.str.buf + c.str.len;
  memcpy(dst, &si, sizeof si);
  long n = 0;
  if (f.subkind == AMBER_SOCK_CONNECTED) {
    uint32_t cap = room - (uint32_t)sizeof si;
    if (cap > (8u << 20)) cap = 8u << 20;
    n = sys::sc6(45 /*recvfrom*/, f.fd, (long)(dst + sizeof si), cap, 2 /*MSG_PEEK*/ | 0x40 /*MSG_DONTWAIT*/, 0, 0);
    if (n < 0) n = 0;
  }
  reinterpret_cast<amber_sockinfo*>(dst)->inflight_len = (uint32_t)n;
  f.data = c.str.add(dst, sizeof si + (size_t)n);
}

long collect_fds(Ctx& c) {
  c.fds = static_cast<amber_fd*>(c.a.take(sizeof(amber_fd) * 4096));
  if (!c.fds) return fail(c, -ENOMEM, "scratch exhausted");
  char* dbuf = static_cast<char*>(c.a.take(65536));
  long dfd = sys::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail(c, dfd, "cannot list /proc/self/fd");
  for (;;) {
    long r = sys::getdents64((int)dfd, dbuf, 65536);
    if (r <= 0) break;
    for (long off = 0; off < r;) {
      const char* rec = dbuf + off;
      uint16_t reclen = *reinterpret_cast<const uint16_t*>(rec + 16);
      const char* name = rec + 19;
      off += reclen;
      if (name[0] < '0' || name[0] > '9') continue;
      const char* q = name;
      int fd = (int)sys::parse_u(&q, 10);
      if (fd == (int)dfd || (c.diag_fd > 0 && fd == c.diag_fd) || c.nfds >= 4096) continue;
      amber_fd& f = c.fds[c.nfds++];
      memset(&f, 0, sizeof f);
      f.fd = fd;
      char lp[64];
      char* target = c.tmp;
      sys::Out(lp, sizeof lp).s("/proc/self/fd/").i(fd);
      long l = sys::readlink(lp, target, 4095);
      if (l < 0) l = 0;
      f.path = c.str.add(target, (size_t)l);
      sys::kstat st{};
      sys::fstat(fd, &st);
      f.mode = st.st_mode;
      f.dev = st.st_dev;
      f.inode = st.st_ino;
      f.size = (uint64_t)st.st_size;
      switch (st.st_mode & S_IFMT) {
        case S_IFREG: f.kind = AMBER_FD_FILE; break;
        case S_IFDIR: f.kind = AMBER_FD_DIR; break;
        case S_IFCHR: f.kind = AMBER_FD_CHR; break;
        case S_IFIFO: f.kind = AMBER_FD_PIPE; break;
        case S_IFSOCK: f.kind = AMBER_FD_SOCKET; break;
        default: f.kind = AMBER_FD_OTHER;
      }
      if (l > 11 && sys::sstarts(target, "anon_inode:")) f.kind = AMBER_FD_ANON;
      if (fd == g.coord_fd) f.kind = AMBER_FD_AGENT;
      sys::Out(lp, sizeof lp).s("/proc/self/fdinfo/").i(fd);
      size_t n = sys::read_file(lp, c.info, kInfo - 1);
      c.info[n] = 0;
      long fdfl = sys::fcntl(fd, F_GETFD, 0);
      f.fd_flags = fdfl > 0 ? (uint32_t)fdfl : 0;
      if (f.kind == AMBER_FD_ANON) {
        if (sys::sstarts(target, "anon_inode:[eventfd]")) f.subkind = AMBER_ANON_EVENTFD;
        else if (sys::sstarts(target, "anon_inode:[eventpoll]")) f.subkind = AMBER_ANON_EPOLL;
        else if (sys::sstarts(target, "anon_inode:[timerfd]")) f.subkind = AMBER_ANON_TIMERFD;
        else if (sys::sstarts(target, "anon_inode:[signalfd]")) f.subkind = AMBER_ANON_SIGNALFD;
      }
      parse_fdinfo(c, f);
      if (f.kind == AMBER_FD_CHR) capture_pty(c, f, st.st_rdev);
      if (f.kind == AMBER_FD_PIPE) capture_pipe(c, f);
      if (f.kind == AMBER_FD_SOCKET) capture_socket(c, f);
    }
  }
  sys::close((int)dfd);
  if (c.diag_fd > 0) sys::close(c.diag_fd);
  return 0;
}

// POSIX timers, from /proc/self/timers (ids, signal, target) plus timer_gettime (values).
long collect_timers(Ctx& c) {
  c.timers = static_cast<amber_timer*>(c.a.take(sizeof(amber_timer) * 512));
  char* buf = static_cast<char*>(c.a.take(256 * 1024));
  if (!c.timers || !buf) return fail(c, -ENOMEM, "scratch exhausted");
  size_t n = sys::read_file("/proc/self/timers", buf, 256 * 1024 - 1);
  buf[n] = 0;
  amber_timer* t = nullptr;
  for (const char* p = buf; *p;) {
    if (sys::sstarts(p, "ID: ") && c.ntimers < 512) {
      p += 4;
      t = &c.timers[c.ntimers++];
      memset(t, 0, sizeof *t);
      t->id = (int32_t)sys::parse_u(&p, 10);
    } else if (t && sys::sstarts(p, "signal: ")) {
      p += 8;
      t->signo = (int32_t)sys::parse_u(&p, 10);
      if (*p == '/') { p++; t->sival = sys::parse_u(&p, 16); }
    } else if (t && sys::sstarts(p, "notify: ")) {
      p += 8;
      int kind = sys::sstarts(p, "signal") ? 0 : sys::sstarts(p, "none") ? 1 : 2;
      while (*p && *p != '/') p++;
      if (*p) p++;
      bool tid = sys::sstarts(p, "tid");
      while (*p && *p != '.') p++;
      if (*p) p++;
      int who = (int)sys::parse_u(&p, 10);
      t->notify = kind | (tid ? 4 /*SIGEV_THREAD_ID*/ : 0);
      t->tid = tid ? who : 0;
    } else if (t && sys::sstarts(p, "ClockID: ")) {
      p += 9;
      t->clockid = (int32_t)sys::parse_u(&p, 10);
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  for (uint32_t i = 0; i < c.ntimers; i++) {
    int64_t v[4] = {};
    sys::timer_gettime(c.timers[i].id, v);
    c.timers[i].interval_sec = v[0];
    c.timers[i].interval_nsec = v[1];
    c.timers[i].value_sec = v[2];
    c.timers[i].value_nsec = v[3];
    if (!v[2] && !v[3] && (v[0] || v[1])) c.timers[i].value_nsec = 1;  // about to fire: keep armed
  }
  return 0;
}

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

}  // namespace

char g_unrestorable[2048];

namespace {
// A listener, or a connection to a loopback / Unix peer (which may be another process of the
// computation: the restorer pairs them up; an unpaired one gets /dev/null like any other).
bool socket_may_restore(const Ctx& c, const amber_fd& f) {
  if (f.subkind == AMBER_SOCK_LISTEN) return true;
  if (f.subkind != AMBER_SOCK_CONNECTED || f.data.len < sizeof(amber_sockinfo)) return false;
  const amber_sockinfo* si = reinterpret_cast<const amber_sockinfo*>(c.str.buf + f.data.off);
  if (si->family == 1) return true;
  if (si->family == 2) return si->peer[4] == 127;  // sockaddr_in: port at 2, address at 4
  if (si->family == 10) {                           // sockaddr_in6: address at 8; ::1
    static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return !memcmp(si->peer + 8, one, 16);
  }
  return false;
}

// What restore_fds (restore/restore.cc) cannot rebuild yet: it gives those numbers /dev/null.
void note_unrestorable(const Ctx& c) {
  sys::Out o(g_unrestorable, sizeof g_unrestorable);
  for (uint32_t i = 0; i < c.nfds; i++) {
    const amber_fd& f = c.fds[i];
    const char* p = c.str.buf + f.path.off;
    bool deleted = f.path.len > 10 && !memcmp(p + f.path.len - 10, " (deleted)", 10);
    bool bad = (f.kind == AMBER_FD_SOCKET && !socket_may_restore(c, f)) || f.kind == AMBER_FD_OTHER ||
               (f.kind == AMBER_FD_ANON && f.subkind == AMBER_ANON_UNKNOWN) ||
               ((f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR) && deleted);
    if (!bad || f.fd <= 2) continue;
    if (o.len > 1200) { o.s(",\"...\""); break; }  // the reply line must stay whole
    if (o.len) o.c(',');
    o.s("\"fd ").i(f.fd).c(' ').j(p, f.path.len).c('"');
  }
}
}  // namespace

long write_image(const char* path, uint64_t* bytes_out, char* err, size_t errlen) {
  Ctx c{};
  c.a = Arena{g.scratch, g.scratch_len, 0};
  c.err = err;
  c.errlen = errlen;
  c.str.cap = 4u << 20;
  c.str.buf = static_cast<char*>(c.a.take(c.str.cap));
  c.cap_regions = 65536;
  c.regions = static_cast<amber_region*>(c.a.take(sizeof(amber_region) * c.cap_regions));
  c.pm_cap = 65536;
  c.pm = static_cast<uint64_t*>(c.a.take(c.pm_cap * 8));
  c.tmp = static_cast<char*>(c.a.take(8192));
  c.info = static_cast<char*>(c.a.take(kInfo));
  c.ep = static_cast<amber_epoll_entry*>(c.a.take(kEp * sizeof(amber_epoll_entry)));
  if (!c.str.buf || !c.regions || !c.pm || !c.tmp || !c.info || !c.ep) return fail(c, -ENOMEM, "scratch exhausted");
  c.str.add("", 0);  // offset 0 is the empty string

  amber_process* pr = static_cast<amber_process*>(c.a.take(sizeof(amber_process)));
  long r = collect_fds(c);  // first: before we open anything of our own
  if (r < 0) return r;
  note_unrestorable(c);
  if ((r = collect_process(c, *pr)) < 0) return r;
  if ((r = collect_timers(c)) < 0) return r;
  if ((r = read_maps(c)) < 0) return r;

  c.cap_chunks = (uint32_t)((g.scratch_len - c.a.used) / 2 / sizeof(amber_chunk));
  c.chunks = static_cast<amber_chunk*>(c.a.take(sizeof(amber_chunk) * c.cap_chunks));
  if (!c.chunks) return fail(c, -ENOMEM, "scratch exhausted");
  long pm = sys::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) return fail(c, pm, "cannot open /proc/self/pagemap");
  c.pm_fd = (int)pm;
  uint64_t pages_total = 0;
  for (uint32_t i = 0; i < c.nregions && r >= 0; i++) {
    r = plan_region(c, i);
    pages_total += (c.regions[i].end - c.regions[i].start) / kPage;
  }
  sys::close(c.pm_fd);
  if (r < 0) { restore_prot(c); return r; }

  // Threads: every slot is parked and has filled its record.
  amber_thread* th = static_cast<amber_thread*>(c.a.take(sizeof(amber_thread) * g.nslots));
  for (uint32_t i = 0; i < g.nslots; i++) th[i] = g_slots[i].rec;

  // Metadata, then layout.
  size_t meta_cap = sizeof(amber_section) * 8 + sizeof(amber_process) + sizeof(amber_thread) * g.nslots +
                    sizeof(amber_region) * c.nregions + sizeof(amber_chunk) * c.nchunks +
                    sizeof(amber_fd) * c.nfds + sizeof(amber_timer) * c.ntimers + c.str.len + 64;
  char* meta = static_cast<char*>(c.a.take(meta_cap));
  char* head = static_cast<char*>(c.a.take(AMBER_HEADER_SIZE));
  if (!meta || !head) { restore_prot(c); return fail(c, -ENOMEM, "scratch exhausted"); }
  uint64_t meta_size = meta_cap;  // upper bound known before chunk offsets are final
  meta_size = (meta_size + 7) & ~7ull;
  uint64_t data_off = (AMBER_HEADER_SIZE + meta_size + kPage - 1) & ~(kPage - 1);
  uint64_t off = data_off;
  for (uint32_t i = 0; i < c.nchunks; i++) {
    c.chunks[i].file_off = off;
    off += c.chunks[i].len;
  }
  uint64_t data_size = off - data_off;

  // A new file, never a link or a file someone else put there (issue 12).
  long fd = sys::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) { restore_prot(c); return fail(c, fd, "cannot create ", path); }
  // Data: checksum each chunk, write contiguous runs straight from memory. Our own stack keeps
  // changing while we write, so chunks of it go through a copy (checksum and bytes then agree;
  // the frames that matter at restart, above amber_ctx_save, are stable).
  uint64_t here = (uint64_t)&fd;
  char* bounce = static_cast<char*>(c.a.take(AMBER_CHUNK_MAX));
  if (!bounce) { sys::close((int)fd); restore_prot(c); return fail(c, -ENOMEM, "scratch exhausted"); }
  uint32_t i = 0;
  while (i < c.nchunks && r >= 0) {
    const amber_region& reg = c.regions[c.chunks[i].region];
    if (here >= reg.start && here < reg.end) {
      memcpy(bounce, (const void*)c.chunks[i].addr, c.chunks[i].len);
      c.chunks[i].xxh = amber_chunk_xxh(bounce, c.chunks[i].len);
      r = sys::pwrite_all((int)fd, bounce, c.chunks[i].len, c.chunks[i].file_off);
      i++;
      continue;
    }
    uint32_t j = i;
    uint64_t len = 0;
    while (j < c.nchunks && len + c.chunks[j].len <= kMaxWriteRun && c.chunks[j].region == c.chunks[i].region &&
           (j == i || c.chunks[j].addr == c.chunks[j - 1].addr + c.chunks[j - 1].len)) {
      c.chunks[j].xxh = amber_chunk_xxh((const void*)c.chunks[j].addr, c.chunks[j].len);
      len += c.chunks[j].len;
      j++;
    }
    r = sys::pwrite_all((int)fd, (const void*)c.chunks[i].addr, len, c.chunks[i].file_off);
    i = j;
  }
  restore_prot(c);
  if (r < 0) { sys::close((int)fd); return fail(c, r, "cannot write ", path); }

  size_t mo = 0;
  put_section(meta, mo, AMBER_SEC_PROCESS, 1, pr, sizeof *pr);
  put_section(meta, mo, AMBER_SEC_THREADS, g.nslots, th, sizeof(amber_thread) * g.nslots);
  put_section(meta, mo, AMBER_SEC_REGIONS, c.nregions, c.regions, sizeof(amber_region) * c.nregions);
  put_section(meta, mo, AMBER_SEC_CHUNKS, c.nchunks, c.chunks, sizeof(amber_chunk) * c.nchunks);
  put_section(meta, mo, AMBER_SEC_FDS, c.nfds, c.fds, sizeof(amber_fd) * c.nfds);
  put_section(meta, mo, AMBER_SEC_TIMERS, c.ntimers, c.timers, sizeof(amber_timer) * c.ntimers);
  put_section(meta, mo, AMBER_SEC_STRINGS, c.str.len, c.str.buf, c.str.len);
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
  h.pages_total = pages_total;
  h.pages_stored = data_size / kPage;
  h.header_xxh = amber_header_page_xxh(head);

  amber_image_hasher ih;
  amber_image_xxh_begin(&ih, h.header_xxh, h.meta_xxh);
  for (uint32_t k = 0; k < c.nchunks; k++) amber_image_xxh_add(&ih, c.chunks[k].xxh);
  amber_trailer t;
  amber_trailer_init(&t, h.file_size, amber_image_xxh_end(&ih), c.nchunks);

  if ((r = sys::pwrite_all((int)fd, meta, meta_size, AMBER_HEADER_SIZE)) < 0 ||
      (r = sys::pwrite_all((int)fd, &t, sizeof t, data_off + data_size)) < 0 ||
      (r = sys::pwrite_all((int)fd, head, AMBER_HEADER_SIZE, 0)) < 0 ||
      (r = sys::fsync((int)fd)) < 0) {
    sys::close((int)fd);
    return fail(c, r, "cannot write ", path);
  }
  sys::close((int)fd);
  // Give the scratch pages back: they are NODATA and would otherwise stay resident.
  *bytes_out = h.file_size;
  sys::madvise(g.scratch, c.a.used, MADV_DONTNEED);
  return 0;
}

}  // namespace amber

namespace amber {
// The process goes on after a checkpoint: its TCP connections close as the application set them.
void sockets_resumed() {
  for (uint32_t i = 0; i < g_nlinger; i++) {
    int32_t v[2] = {g_linger[i].onoff, g_linger[i].secs};
    sys::sc5(54 /*setsockopt*/, g_linger[i].fd, 1 /*SOL_SOCKET*/, 13 /*SO_LINGER*/, (long)v, sizeof v);
  }
  g_nlinger = 0;
}
}  // namespace amber
