// Pseudo-terminals (AMBER_FD_CHR, subkind PTMX for a master, PTS for a slave; extra = the pty's
// index, data = amber_ptyinfo then, for a master, the output the slave side had written that the
// master had not read yet).
//
// Capture: which pty, its terminal settings (TCGETS2) and window size, so the new pair made at
// restart behaves the same (raw mode, echo, size). On the master side the unread output: a tty
// cannot be peeked, so it is read and at once written back through a slave descriptor of our own
// with output processing off (the bytes were processed when first written), which puts the same
// bytes back in the same place; every process is frozen meanwhile, so nobody sees the difference.
// Input the slave had not read yet is not saved.
//
// Restore: a pty whose master is held by a process of the tree (a shell job run by `script`, an
// expect-like driver, a terminal multiplexer) is made again as a new pair before the fork: every
// saved master descriptor of it gets the new master, every slave descriptor the new slave, with
// the saved settings, size and unread output. Its number (/dev/pts/N) may differ. A pty whose
// master is outside (the user's own terminal) is not ours to rebuild: a descriptor to the
// launcher's terminal becomes the restart's own (fd/stdio.cc), any other is reopened at its path. Sessions take their controlling terminal from here (proc/tree.cc, pty_slave_for).
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include <fcntl.h>
#include <string.h>

#include "agent/capture.h"

namespace fd {
void pty_capture(amber::Capture& c, amber_fd& f, const sys::kstat& st) {
  uint64_t rdev = st.st_rdev;
  uint32_t major = (uint32_t)((rdev >> 8) & 0xfff), minor = (uint32_t)((rdev & 0xff) | ((rdev >> 12) & 0xfff00));
  if (major >= 136 && major <= 143) {  // UNIX98_PTY_SLAVE_MAJOR .. + 7
    f.subkind = AMBER_CHR_PTS;
    f.extra = (uint64_t)(major - 136) * 256 * 1024 + minor;  // (only major 136 in practice)
  } else {  // /dev/ptmx (5, 2): the index is in fdinfo
    f.subkind = AMBER_CHR_PTMX;
    for (const char* p = c.info; *p;) {
      if (sys::sstarts(p, "tty-index:")) {
        p += 10;
        while (*p == ' ' || *p == '\t') p++;
        f.extra = sys::parse_u(&p, 10);
        break;
      }
      while (*p && *p != '\n') p++;
      if (*p) p++;
    }
  }
  amber_ptyinfo pi{};
  if (sys::ioctl(f.fd, 0x802c542a /*TCGETS2*/, (long)pi.termios) == 0) pi.flags |= AMBER_PTY_TERMIOS;
  if (sys::ioctl(f.fd, 0x5413 /*TIOCGWINSZ*/, (long)pi.winsize) == 0) pi.flags |= AMBER_PTY_WINSIZE;
  // A slave of our own: where the read output is written back, and what the processes holding
  // this master take turns on (amber::hold_still) from before the count until the bytes are back.
  long peer = -1;
  if (f.subkind == AMBER_CHR_PTMX && (f.flags & O_ACCMODE) != O_WRONLY && (pi.flags & AMBER_PTY_TERMIOS)) {
    peer = sys::ioctl(f.fd, 0x5441 /*TIOCGPTPEER*/, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (peer >= 0 && amber::hold_still((int)peer) < 0) {
      sys::close((int)peer);
      peer = -1;
    }
  }
  int avail = 0;
  bool reads = peer >= 0 && sys::ioctl(f.fd, 0x541b /*FIONREAD*/, (long)&avail) == 0 && avail > 0;
  char* dst = c.str.reserve(sizeof pi + (reads ? (size_t)avail : 0));
  if (!dst) {  // the capture fails: the string space is full
    if (peer >= 0) sys::close((int)peer);
    return;
  }
  char* out = dst + sizeof pi;
  if (reads) {
    long got = 0;
    while (got < avail) {
      long r = sys::read(f.fd, out + got, (size_t)(avail - got));
      if (r == -4 /*EINTR*/) continue;
      if (r <= 0) break;
      got += r;
    }
    uint8_t raw[60];
    memcpy(raw, pi.termios, sizeof raw);
    raw[4] &= (uint8_t)~1u;  // c_oflag &= ~OPOST (c_oflag is the second 32-bit word)
    sys::ioctl((int)peer, 0x402c542b /*TCSETS2*/, (long)raw);
    sys::write_all((int)peer, out, (size_t)got);
    sys::ioctl((int)peer, 0x402c542b, (long)pi.termios);
    // The bytes reach the master's queue through the kernel's flip-buffer work, later: wait (1 s at
    // most) until it holds them again, or the next holder's turn would find it empty and save none.
    for (int i = 0; i < 1000; i++) {
      int back = 0;
      if (sys::ioctl(f.fd, 0x541b /*FIONREAD*/, (long)&back) < 0 || back >= got) break;
      sys::ktimespec ts{0, 1000000};
      sys::nanosleep(&ts, nullptr);
    }
    pi.out_len = (uint32_t)got;
  }
  if (peer >= 0) sys::close((int)peer);
  memcpy(dst, &pi, sizeof pi);
  f.data = c.str.add(dst, sizeof pi + pi.out_len);
  // Input the master wrote that the slave side has not read yet cannot be taken out and put back
  // without changing it (a canonical-mode reader sees lines, and a partial line cannot be read),
  // so it is not saved: said now, by its size (FIONREAD on a slave of our own: nothing consumed).
  if (f.subkind == AMBER_CHR_PTMX) {
    long peer = sys::ioctl(f.fd, 0x5441 /*TIOCGPTPEER*/, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    int pending = 0;
    if (peer >= 0 && sys::ioctl((int)peer, 0x541b /*FIONREAD*/, (long)&pending) == 0 && pending > 0) {
      char what[200];
      sys::Out(what, sizeof what).s("has ").i(pending).s(" bytes of terminal input its reader has not read yet: they are lost at restart");
      c.limit(f, what);
    }
    if (peer >= 0) sys::close((int)peer);
  }
}
bool pty_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(pty)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace {
// The ptys rebuilt before the fork, by index (inherited by every forked process).
struct SharedPty { uint64_t index; int m, s; };
SharedPty* g_ptys;
uint32_t g_nptys;

void warn_pty(const char* what, const amber_fd& f, long err) { rs::warn_fd(what, f, err, "it is reopened at its path"); }
}  // namespace

namespace rs {
uint64_t pts_rdev(uint64_t index) {  // the kernel's new_encode_dev(MKDEV(136 + index / 2^20, index % 2^20))
  uint64_t major = 136 + (index >> 20), minor = index & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffull) << 12);
}

int pty_slave_for(uint64_t rdev) {
  for (uint32_t k = 0; k < g_nptys; k++)
    if (pts_rdev(g_ptys[k].index) == rdev) return g_ptys[k].s;
  return -1;
}
}  // namespace rs

namespace fd {
AMBER_FD_NO_CHECK(pty)

void pty_prepare() {
  using namespace rs;
  uint32_t masters = 0;
  for (Ref* r = refs_begin(Kind::PTY); r != refs_end(Kind::PTY); r++)
    if (fd_of(*r).subkind == AMBER_CHR_PTMX) masters++;
  g_ptys = alloc_n<SharedPty>(masters ? masters : 1);
  for (Ref* r = refs_begin(Kind::PTY); r != refs_end(Kind::PTY); r++) {
    const amber_fd& f = fd_of(*r);
    if (f.subkind != AMBER_CHR_PTMX) continue;
    bool made = false;
    for (uint32_t k = 0; k < g_nptys; k++) made = made || g_ptys[k].index == f.extra;
    if (made) continue;
    long m = sys::open("/dev/ptmx", sys::O_RDWR_ | sys::O_NOCTTY_ | sys::O_CLOEXEC_, 0);
    if (m < 0) { warn_pty("cannot open /dev/ptmx to rebuild its pseudo-terminal", f, m); continue; }
    int zero = 0;
    sys::ioctl((int)m, 0x40045431 /*TIOCSPTLCK*/, (long)&zero);
    long sl = sys::ioctl((int)m, 0x5441 /*TIOCGPTPEER*/, sys::O_RDWR_ | sys::O_NOCTTY_ | sys::O_CLOEXEC_);
    if (sl < 0) { warn_pty("cannot open its new pseudo-terminal's slave", f, sl); sys::close((int)m); continue; }
    // The saved settings: from any master end of this pty that has them (all saw the same tty).
    for (Ref* r2 = refs_begin(Kind::PTY); r2 != refs_end(Kind::PTY); r2++) {
      const amber_fd& f2 = fd_of(*r2);
      const amber_view& v2 = T.img[r2->img].v;
      const char* d;
      uint32_t len;
      if (f2.subkind != AMBER_CHR_PTMX || f2.extra != f.extra || !amber_str_at(&v2, f2.data, &d, &len) ||
          len < sizeof(amber_ptyinfo))
        continue;
      amber_ptyinfo pi;
      memcpy(&pi, d, sizeof pi);
      if (pi.out_len > len - sizeof pi) continue;
      if ((pi.flags & AMBER_PTY_TERMIOS) && pi.out_len) {
        // The output the master had not read yet, back where it was: written by the slave side
        // with output processing off (it was processed when first written).
        uint8_t raw[60];
        memcpy(raw, pi.termios, sizeof raw);
        raw[4] &= (uint8_t)~1u;  // c_oflag &= ~OPOST
        sys::ioctl((int)sl, 0x402c542b /*TCSETS2*/, (long)raw);
        sys::write_all((int)sl, d + sizeof pi, pi.out_len);
      }
      if (pi.flags & AMBER_PTY_TERMIOS) sys::ioctl((int)sl, 0x402c542b /*TCSETS2*/, (long)pi.termios);
      if (pi.flags & AMBER_PTY_WINSIZE) sys::ioctl((int)m, 0x5414 /*TIOCSWINSZ*/, (long)pi.winsize);
      break;
    }
    g_ptys[g_nptys++] = SharedPty{f.extra, (int)lift(m), (int)lift(sl)};
  }
  // Every end of a rebuilt pty, master or slave, in any process, gets the new one.
  for (Ref* r = refs_begin(Kind::PTY); r != refs_end(Kind::PTY); r++) {
    const amber_fd& f = fd_of(*r);
    for (uint32_t k = 0; k < g_nptys; k++)
      if (g_ptys[k].index == f.extra && T.img[r->img].prep[r->idx] < 0)
        assign((int)r->img, r->idx, f.subkind == AMBER_CHR_PTMX ? g_ptys[k].m : g_ptys[k].s);
  }
  settle();
  // (settled ends moved: the table follows them, for the sessions' controlling terminals)
  for (Ref* r = refs_begin(Kind::PTY); r != refs_end(Kind::PTY); r++) {
    const amber_fd& f = fd_of(*r);
    int32_t at = T.img[r->img].prep[r->idx];
    for (uint32_t k = 0; k < g_nptys && at >= 0; k++) {
      if (g_ptys[k].index != f.extra) continue;
      if (f.subkind == AMBER_CHR_PTMX) g_ptys[k].m = at;
      else g_ptys[k].s = at;
    }
  }
}

long pty_restore(rs::Proc& p, uint32_t i) { return rs::reopen_saved(p, i); }
AMBER_FD_NO_FINISH(pty)
}  // namespace fd
#endif
