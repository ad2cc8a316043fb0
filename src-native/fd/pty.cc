// Pseudo-terminals (AMBER_FD_CHR, subkind PTMX for a master, PTS for a slave; extra = the pty's
// index, data = amber_ptyinfo then, for a master, the output the slave side had written that the
// master had not read yet, then the input the master had written that the slave side had not read
// yet: image/format.h, AMBER_PTY_INPUT).
//
// Capture: which pty, its terminal settings (TCGETS2) and window size, so the new pair made at
// restart behaves the same (raw mode, echo, size). A tty cannot be peeked, so what is queued is
// taken out and at once put back, every process frozen meanwhile, so nobody sees the difference:
// - the unread output, read through the master, is written back through a slave descriptor of our
//   own with output processing off (the bytes were processed when first written);
// - the unread input is read through that slave of ours: in canonical mode one read() per line
//   (which tells the lines apart, and a line ended by EOF from one ended by a newline), then the
//   line being edited with the slave switched to non-canonical for that read; otherwise the bytes.
//   (Switching ICANON with bytes queued would not do: the kernel makes them all one complete
//   line, boundaries lost, a partial line completed — n_tty_set_termios, checked on this kernel.)
//   It goes back through the master (put_input) with the input processing that would change it
//   off — no mapping of '\r', no signals, no erase; in canonical mode only the line ends are
//   special, a byte that would end a line early is quoted with LNEXT — so the reader finds the
//   same lines, the same unfinished line still being edited, the same bytes. Echo is on meanwhile:
//   the kernel processes what a master writes later, in its own work, and the echo read back from
//   the master, one byte per byte put back, says when it is all in place (then discarded: the
//   first echo is in the saved output already). Then the settings are set back.
// A master in packet mode (TIOCPKT) has it off meanwhile (our reads would get its headers, our
// settings would make it report flow control changes) and on again after; the new master too.
// Output stopped (^S under IXON, tcflow TCOOFF) is started meanwhile (what we put back would not
// move) and stopped again the same way after (restop: ^S's stop is one the reader's ^Q ends, a
// TCOOFF one is not); the new pair's too. (Echo of input typed while stopped, held by the kernel,
// comes out into the master's queue when we start it: kept there, it is readable before ^Q.)
// The same put_input rebuilds the input in the new pair at restart. Not kept: a pending LNEXT
// (^V typed last), the echo column (how an erase of a tab is echoed), input beyond what the
// slave's buffer holds. Said by name (a `limits` warning): input that cannot be taken (a master
// not open for reading and writing, a terminal that is the capturing process's own from a
// background process group) or was not back in place within the bound, a packet-mode status the
// master had not read yet.
//
// Restore: a pty whose master is held by a process of the tree (a shell job run by `script`, an
// expect-like driver, a terminal multiplexer) is made again as a new pair before the fork: every
// saved master descriptor of it gets the new master, every slave descriptor the new slave, with
// the saved settings, size, unread input and output. Its number (/dev/pts/N) may differ. A pty whose
// master is outside (the user's own terminal) is not ours to rebuild: a descriptor to the
// launcher's terminal becomes the restart's own (fd/stdio.cc), any other is reopened at its path. Sessions take their controlling terminal from here (proc/tree.cc, pty_slave_for).
#include "fd/ops.h"

#if defined(AMBER_AGENT) || defined(AMBER_RESTORER)
#ifdef AMBER_AGENT
#include <string.h>
#else
#include "restore/restorer.h"
#endif

namespace {
// struct termios2 as TCGETS2 gives it: c_iflag, c_oflag, c_cflag, c_lflag (32 bits each), c_line,
// c_cc[19], speeds.
constexpr int kIflag = 0, kOflag = 4, kLflag = 12, kCc = 17;
constexpr uint32_t kIXON = 0x400, kOPOST = 1, kICANON = 2, kECHO = 8, kIEXTEN = 0x8000, kEXTPROC = 0x10000;
constexpr int kVERASE = 2, kVEOF = 4, kVMIN = 6, kVEOL = 11, kVLNEXT = 15, kVEOL2 = 16, kNCC = 19;
constexpr long kTCSETS2 = 0x402c542b, kEAGAIN = -11, kEINTR = -4;
constexpr int kSpins = 5000;  // 1 ms each: the bound for the kernel to take input written to a master

uint32_t tget(const uint8_t* t, int off) { uint32_t v; memcpy(&v, t + off, 4); return v; }
void tput(uint8_t* t, int off, uint32_t v) { memcpy(t + off, &v, 4); }
bool canonical(const uint8_t* t) { return (tget(t, kLflag) & kICANON) && !(tget(t, kLflag) & kEXTPROC); }
void pause_1ms() { sys::ktimespec ts{0, 1000000}; sys::nanosleep(&ts, nullptr); }

// Whether the slave side can write now (POLLOUT): not while its output is stopped (^S under IXON,
// tcflow TCOOFF), nor when the master's buffer is full.
bool slave_writable(int s) {
  struct { int fd; short events, revents; } pfd{s, 4 /*POLLOUT*/, 0};
  sys::ktimespec zero{0, 0};
  return sys::sc4(271 /*ppoll*/, (long)&pfd, 1, (long)&zero, 0) == 1 && (pfd.revents & 4);
}

// Stops the output of slave s again as it was (how: AMBER_PTY_STOPPED_*) under settings t:
// tcflow's stop at once; ^S's by the stop character written through master m (the kernel
// restarts that one when the reader types the start character, not a TCOOFF one), taken by the
// kernel later: waited for, 1 s at most. False when it could not be.
bool restop(int m, int s, const uint8_t* t, uint32_t how) {
  if (how & AMBER_PTY_STOPPED_TCO) return sys::ioctl(s, 0x540a /*TCXONC*/, 0 /*TCOOFF*/) == 0;
  uint8_t stop = t[kCc + 9 /*VSTOP*/];
  if (!stop || !(tget(t, kIflag) & kIXON) || (tget(t, kLflag) & kEXTPROC)) return false;
  long w;
  do w = sys::write(m, &stop, 1);
  while (w == kEINTR);
  if (w != 1) return false;
  for (int i = 0; i < 1000; i++) {
    if (!slave_writable(s)) return true;
    pause_1ms();
  }
  return false;
}

// The characters that end a canonical line under settings t, and those put_input chooses for its
// own use (EOF, LNEXT, ERASE, and a sentinel no setting makes special), all different.
struct Specials {
  uint8_t eol, eol2, eof, lnext, erase, sentinel;
  explicit Specials(const uint8_t* t) : eol(t[kCc + kVEOL]), eol2((tget(t, kLflag) & kIEXTEN) ? t[kCc + kVEOL2] : 0), eof(0), lnext(0), erase(0), sentinel(0) {
    for (uint8_t c = 4; !eof; c++) if (!taken(c)) eof = c;
    for (uint8_t c = 0x16; !lnext; c++) if (!taken(c)) lnext = c;
    for (uint8_t c = 0x7f; !erase; c--) if (!taken(c)) erase = c;
    for (uint8_t c = 'x'; !sentinel; c++) if (!taken(c)) sentinel = c;
  }
  bool taken(uint8_t c) const { return c == '\n' || c == eol || c == eol2 || c == eof || c == lnext || c == erase; }
  bool ends_line(uint8_t c) const { return c == '\n' || (c && (c == eol || c == eol2)); }
};

// Writes to a master (non-blocking) and reads back the echo of what the kernel took.
struct Putter {
  int m;
  uint32_t n = 0, spins = 0;
  uint64_t echoed = 0;
  bool ok = true;
  char w[512], sink[512];
  explicit Putter(int master) : m(master) {}
  void drain() {
    for (;;) {
      long r = sys::read(m, sink, sizeof sink);
      if (r == kEINTR) continue;
      if (r <= 0) break;
      echoed += (uint64_t)r;
    }
  }
  void flush() {
    uint32_t at = 0;
    while (at < n && ok) {
      long r = sys::write(m, w + at, n - at);
      if (r > 0) { at += (uint32_t)r; continue; }
      if (r == kEINTR) continue;
      if (r != kEAGAIN || ++spins > kSpins) { ok = false; break; }
      drain();  // (the echo fills the other way)
      pause_1ms();
    }
    n = 0;
  }
  void put(uint8_t c) { if (n == sizeof w) flush(); w[n++] = (char)c; }
};

// What put_input did: all of the input is in place; some is (the line discipline holds
// kLdiscMax bytes: the rest waits in the kernel's buffer until the reader makes room, and is
// processed then, under the settings of that time); it is not (no echo in time, or an error).
enum PutResult { kPutAll, kPutHeld, kPutFailed };
constexpr uint32_t kLdiscMax = 4095;  // N_TTY_BUF_SIZE - 1

// Puts the saved input `in` (AMBER_PTYIN_* entries) back through master m, so that the slave's
// reader finds it as it was under settings t; the caller sets t back after. The master's queue
// must be empty (what m reads meanwhile is the echo, discarded).
PutResult put_input(int m, const uint8_t* t, const uint8_t* in, uint32_t len) {
  bool canon = canonical(t);
  Specials sp(t);
  uint8_t tmp[60];
  memcpy(tmp, t, sizeof tmp);
  // No input processing but what canonical mode always does with a line end (and IXON kept as it
  // is, with no start/stop character: clearing it would restart output stopped by ^S), echo on
  // and raw (one byte of echo per byte taken), EXTPROC off (it would bypass the echo).
  tput(tmp, kIflag, tget(t, kIflag) & kIXON);
  tput(tmp, kOflag, tget(t, kOflag) & ~kOPOST);
  tput(tmp, kLflag, (canon ? kICANON | kIEXTEN : 0) | kECHO);
  for (int i = 0; i < kNCC; i++) tmp[kCc + i] = 0;
  tmp[kCc + kVMIN] = 1;
  if (canon) {
    tmp[kCc + kVEOL] = sp.eol;
    tmp[kCc + kVEOL2] = sp.eol2;
    tmp[kCc + kVEOF] = sp.eof;
    tmp[kCc + kVLNEXT] = sp.lnext;
    tmp[kCc + kVERASE] = sp.erase;
  }
  if (sys::ioctl(m, kTCSETS2, (long)tmp) < 0) return kPutFailed;
  long fl = sys::fcntl(m, 3 /*F_GETFL*/, 0);
  if (fl < 0) return kPutFailed;
  if (!(fl & sys::O_NONBLOCK_)) sys::fcntl(m, 4 /*F_SETFL*/, fl | sys::O_NONBLOCK_);
  Putter p(m);
  // The echo to wait for: one byte per byte the line discipline stores, but for a line's EOF
  // (stored, not echoed), and only for the first kLdiscMax stored.
  uint64_t expect = 0;
  uint32_t stored = 0;
  bool echoes_last = true;
  auto store = [&](uint8_t c, bool quote, bool echoes) {
    if (quote) p.put(sp.lnext);
    p.put(c);
    if (stored++ < kLdiscMax) expect += echoes;
    echoes_last = echoes;
  };
  for (uint32_t at = 0; at + 2 <= len && p.ok;) {
    uint32_t h = (uint32_t)in[at] | (uint32_t)in[at + 1] << 8, n = h & 0x1fff, type = h >> 13;
    const uint8_t* b = in + at + 2;
    at += 2 + n;
    if (at > len) break;
    if (!canon || type == AMBER_PTYIN_RAW) {
      for (uint32_t i = 0; i < n; i++) store(b[i], false, true);
      continue;
    }
    // A line is its bytes then its end: the end it was read with, or EOF (read gives the bytes
    // alone); any other byte that would end it, or that put_input made special, is quoted.
    bool ends = type == AMBER_PTYIN_LINE && n > 0 && sp.ends_line(b[n - 1]);
    uint32_t body = ends ? n - 1 : n;
    for (uint32_t i = 0; i < body; i++) store(b[i], b[i] && sp.taken(b[i]), true);
    if (type == AMBER_PTYIN_LINE) store(ends ? b[n - 1] : sp.eof, false, ends);
  }
  // Ended by something the kernel does not echo: a sentinel, erased, says when it is through.
  if (canon && !echoes_last && stored < kLdiscMax) {
    p.put(sp.sentinel);
    p.put(sp.erase);
    expect += 2;
  }
  p.flush();
  while (p.ok) {
    p.drain();
    if (p.echoed >= expect) break;
    if (++p.spins > kSpins) p.ok = false;
    else pause_1ms();
  }
  if (!(fl & sys::O_NONBLOCK_)) sys::fcntl(m, 4 /*F_SETFL*/, fl);
  if (!p.ok || p.echoed != expect) return kPutFailed;
  return stored > kLdiscMax ? kPutHeld : kPutAll;
}
}  // namespace
#endif

#ifdef AMBER_AGENT
#include <fcntl.h>

#include "agent/capture.h"

namespace {
constexpr size_t kQueueMax = 64 * 1024;  // the most either queue of a pty holds is far less

// Input processing under settings t leaves every byte as it is (cfmakeraw and the like).
bool passes_unchanged(const uint8_t* t) {
  constexpr uint32_t kIflagChanging = 0x20 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x8;  // ISTRIP INLCR IGNCR ICRNL IUCLC IXON PARMRK
  constexpr uint32_t kLflagChanging = 1 | kICANON | kECHO | 0x40;  // ISIG ICANON ECHO ECHONL
  return !(tget(t, kIflag) & kIflagChanging) && !(tget(t, kLflag) & kLflagChanging);
}

uint32_t entry(char* at, uint32_t type, uint32_t n) {
  uint32_t h = n | type << 13;
  at[0] = (char)(h & 0xff);
  at[1] = (char)(h >> 8);
  return 2 + n;
}

// Reads the input waiting for the slave's reader through our own slave `peer` (non-blocking), under
// its settings t, as AMBER_PTYIN_* entries into dst (kQueueMax). Returns the bytes used.
uint32_t take_input(int peer, const uint8_t* t, char* dst) {
  uint32_t used = 0;
  auto read_entries = [&](uint32_t type) {
    while (used + 2 + AMBER_PTYIN_MAX <= kQueueMax) {
      long r = sys::read(peer, dst + used + 2, AMBER_PTYIN_MAX);
      if (r == kEINTR) continue;
      // A canonical read gives one line, 0 for a line that is a bare EOF; EAGAIN (or 0 when not
      // canonical) once nothing is left: the read waited for what the kernel had not processed.
      if (r < 0 || (r == 0 && type != AMBER_PTYIN_LINE)) break;
      used += entry(dst + used, type, (uint32_t)r);
    }
  };
  if (!canonical(t)) {
    read_entries(AMBER_PTYIN_RAW);
    return used;
  }
  read_entries(AMBER_PTYIN_LINE);
  // The line being edited: a canonical read never gives it, a non-canonical one does.
  uint8_t nc[60];
  memcpy(nc, t, sizeof nc);
  tput(nc, kLflag, tget(t, kLflag) & ~kICANON);
  nc[kCc + kVMIN] = 0;
  nc[kCc + 5 /*VTIME*/] = 0;
  if (sys::ioctl(peer, kTCSETS2, (long)nc) == 0) {
    uint32_t n = 0;
    for (;;) {
      long r = sys::read(peer, dst + used + 2 + n, AMBER_PTYIN_MAX - n);
      if (r == kEINTR) continue;
      if (r <= 0) break;
      n += (uint32_t)r;
      if (n == AMBER_PTYIN_MAX) break;
    }
    if (n) used += entry(dst + used, AMBER_PTYIN_PARTIAL, n);
    sys::ioctl(peer, kTCSETS2, (long)t);
  }
  return used;
}
}  // namespace

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
  // A slave of our own: what the queues are read and written back through, and what the
  // processes holding this master take turns on (amber::hold_still) from before the settings are
  // read (another holder's turn changes them for a while) until the bytes are back.
  long peer = -1;
  if (f.subkind == AMBER_CHR_PTMX) {
    peer = sys::ioctl(f.fd, 0x5441 /*TIOCGPTPEER*/, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (peer >= 0 && amber::hold_still((int)peer) < 0) {
      sys::close((int)peer);
      peer = -1;
    }
  }
  amber_ptyinfo pi{};
  if (sys::ioctl(f.fd, 0x802c542a /*TCGETS2*/, (long)pi.termios) == 0) pi.flags |= AMBER_PTY_TERMIOS;
  if (sys::ioctl(f.fd, 0x5413 /*TIOCGWINSZ*/, (long)pi.winsize) == 0) pi.flags |= AMBER_PTY_WINSIZE;
  int acc = f.flags & O_ACCMODE;
  if (peer >= 0 && !(pi.flags & AMBER_PTY_TERMIOS)) {
    sys::close((int)peer);
    peer = -1;
  }
  char* dst = c.str.reserve(sizeof pi + 2 * kQueueMax);
  if (!dst) {  // the capture fails: the string space is full
    if (peer >= 0) sys::close((int)peer);
    return;
  }
  char* out = dst + sizeof pi;
  uint32_t in_len = 0;
  // Packet mode (TIOCPKT) is the master's: kept, and off while we work (our reads would get its
  // headers, our settings would make it report flow control changes). Turning it on again drops a
  // status the master has not read yet (it reports one as POLLPRI): said by name.
  int pkt = 0;
  if (f.subkind == AMBER_CHR_PTMX && sys::ioctl(f.fd, 0x80045438 /*TIOCGPKT*/, (long)&pkt) == 0 && pkt) {
    pi.flags |= AMBER_PTY_PACKET;
    struct { int fd; short events, revents; } pfd{f.fd, 2 /*POLLPRI*/, 0};
    sys::ktimespec zero{0, 0};
    if (peer >= 0 && sys::sc4(271 /*ppoll*/, (long)&pfd, 1, (long)&zero, 0) == 1 && (pfd.revents & 2)) {
      c.limit(f, "is a master in packet mode with a status (TIOCPKT_*) it has not read yet: it is not reported after restart");
    }
    int off = 0;
    if (peer >= 0) sys::ioctl(f.fd, 0x5420 /*TIOCPKT*/, (long)&off);
  }
  if (peer >= 0) {
    long fl = sys::fcntl(f.fd, F_GETFL, 0);
    bool nb = fl >= 0 && !(fl & O_NONBLOCK);
    if (nb) sys::fcntl(f.fd, F_SETFL, fl | O_NONBLOCK);
    // Not when the terminal is our own and our group is not in the foreground: the reads and
    // settings would stop the process group (SIGTTIN, SIGTTOU).
    int fg = 0;
    bool background = sys::ioctl((int)peer, 0x540f /*TIOCGPGRP*/, (long)&fg) == 0 && fg != sys::sc1(121 /*getpgid*/, 0);
    // Output stopped (^S, tcflow TCOOFF) would keep what we put back from going anywhere: started
    // for the while (tcflow's TCOON, or IXON off: the kernel then starts output stopped by ^S),
    // stopped again the same way after (restop), and so at restart.
    uint32_t stopped = 0;
    if (!background && !slave_writable((int)peer)) {
      if (sys::ioctl((int)peer, 0x540a /*TCXONC*/, 1 /*TCOON*/) == 0 && slave_writable((int)peer)) {
        stopped = AMBER_PTY_STOPPED_TCO;
      } else if (tget(pi.termios, kIflag) & kIXON) {
        uint8_t noxon[60];
        memcpy(noxon, pi.termios, sizeof noxon);
        tput(noxon, kIflag, tget(noxon, kIflag) & ~kIXON);
        sys::ioctl((int)peer, kTCSETS2, (long)noxon);
        sys::ioctl((int)peer, kTCSETS2, (long)pi.termios);
        if (slave_writable((int)peer)) stopped = AMBER_PTY_STOPPED_XOFF;
      }
      pi.flags |= stopped;
    }
    // The output, all of it: a read that finds the queue empty first waits for what the kernel
    // had not processed yet.
    uint32_t got = 0;
    auto take_output = [&] {
      while (got < kQueueMax) {
        long r = sys::read(f.fd, out + got, kQueueMax - got);
        if (r == kEINTR) continue;
        if (r <= 0) break;
        got += (uint32_t)r;
      }
    };
    take_output();
    // The input.
    char what[200];
    if (acc == O_RDWR && !background) {
      char* in = out + kQueueMax;
      in_len = take_input((int)peer, pi.termios, in);
      // Input the master wrote just before the freeze was processed as we read (a read waits for
      // the kernel's work): its echo came after the output we took, and before any of put_input's.
      take_output();
      if (in_len) {
        PutResult back = put_input(f.fd, pi.termios, (const uint8_t*)in, in_len);
        sys::ioctl((int)peer, kTCSETS2, (long)pi.termios);
        if (back == kPutFailed) c.limit(f, "has terminal input its reader had not read yet that did not go back in place in time: the reader may miss it");
        // Beyond what the line discipline holds, input waits unprocessed in the kernel; ours was
        // processed as we read it, and is processed again when the reader makes room: the same
        // bytes only when the settings change nothing.
        if (back == kPutHeld && !passes_unchanged(pi.termios))
          c.limit(f, "has more terminal input than its line discipline holds (4095 bytes): the rest is processed again after restart (echo, mapping, line editing)");
        memmove(out + got, in, in_len);
        pi.flags |= AMBER_PTY_INPUT;
      }
    } else {
      int pending = 0;
      if (sys::ioctl((int)peer, 0x541b /*FIONREAD*/, (long)&pending) == 0 && pending > 0) {
        sys::Out(what, sizeof what).s("has ").i(pending).s(acc == O_RDWR ? " bytes of terminal input its reader has not read yet, on a terminal whose foreground is another process group: they are lost at restart" : " bytes of terminal input its reader has not read yet, on a master not open for reading and writing: they are lost at restart");
        c.limit(f, what);
      }
    }
    pi.out_len = got;
    if (got) {
      uint8_t raw[60];
      memcpy(raw, pi.termios, sizeof raw);
      tput(raw, kOflag, tget(raw, kOflag) & ~kOPOST);
      sys::ioctl((int)peer, kTCSETS2, (long)raw);
      sys::write_all((int)peer, out, (size_t)got);
      sys::ioctl((int)peer, kTCSETS2, (long)pi.termios);
      // The bytes reach the master's queue through the kernel's flip-buffer work, later: wait (1 s at
      // most) until it holds them again, or the next holder's turn would find it empty and save none.
      for (int i = 0; i < 1000; i++) {
        int back = 0;
        if (sys::ioctl(f.fd, 0x541b /*FIONREAD*/, (long)&back) < 0 || back >= (int)got) break;
        pause_1ms();
      }
    }
    if (stopped && !restop(f.fd, (int)peer, pi.termios, stopped))
      c.limit(f, "has its output stopped (^S) and it could not be stopped again: it goes on");
    if (nb) sys::fcntl(f.fd, F_SETFL, fl);
    if (pkt) {
      int on = 1;
      sys::ioctl(f.fd, 0x5420 /*TIOCPKT*/, (long)&on);
    }
    sys::close((int)peer);
  }
  memcpy(dst, &pi, sizeof pi);
  f.data = c.str.add(dst, sizeof pi + pi.out_len + in_len);
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
      amber_ptyinfo pi;
      uint32_t in_at, in_len;
      if (f2.subkind != AMBER_CHR_PTMX || f2.extra != f.extra || !amber_str_at(&v2, f2.data, &d, &len) ||
          !amber_pty_parse(d, len, &pi, &in_at, &in_len))
        continue;
      if (pi.flags & AMBER_PTY_TERMIOS) {
        // The input the slave side had not read yet, first (what the master reads meanwhile is
        // the echo put_input waits for): then the master's queue is empty again for the output.
        if (in_len && put_input((int)m, pi.termios, (const uint8_t*)d + in_at, in_len) == kPutFailed)
          rs::warn_fd("cannot put back the terminal input its reader had not read yet", f, -62 /*ETIME*/, "its reader may miss it");
        if (pi.out_len) {
          // The output the master had not read yet, back where it was: written by the slave side
          // with output processing off (it was processed when first written).
          uint8_t raw[60];
          memcpy(raw, pi.termios, sizeof raw);
          tput(raw, kOflag, tget(raw, kOflag) & ~kOPOST);
          sys::ioctl((int)sl, kTCSETS2, (long)raw);
          sys::write_all((int)sl, d + sizeof pi, pi.out_len);
        }
        sys::ioctl((int)sl, kTCSETS2, (long)pi.termios);
      }
      if (pi.flags & AMBER_PTY_WINSIZE) sys::ioctl((int)m, 0x5414 /*TIOCSWINSZ*/, (long)pi.winsize);
      if ((pi.flags & (AMBER_PTY_STOPPED_TCO | AMBER_PTY_STOPPED_XOFF)) && (pi.flags & AMBER_PTY_TERMIOS) &&
          !restop((int)m, (int)sl, pi.termios, pi.flags))
        rs::warn_fd("cannot stop its new pseudo-terminal's output again (it was stopped by ^S)", f, -22, "its output goes on");
      if (pi.flags & AMBER_PTY_PACKET) {  // last: the queues were put back without its headers
        int on = 1;
        sys::ioctl((int)m, 0x5420 /*TIOCPKT*/, (long)&on);
      }
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
