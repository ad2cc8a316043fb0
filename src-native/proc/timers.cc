// Timers: the three interval timers (amber_process.itimers: ITIMER_REAL, VIRTUAL, PROF) and POSIX
// timers (amber_timer: id, clock, signal, notification, target thread, time left, interval).
// timerfd descriptors are descriptors (fd/timerfd.cc).
//
// Capture: getitimer; /proc/self/timers for the POSIX timers' ids, signals and targets, and
// timer_gettime for their values (a timer about to fire is kept armed with 1 ns left).
// Restore (stage 3, once the threads exist: a SIGEV_THREAD_ID timer targets a thread by its new
// kernel tid): setitimer; each POSIX timer created again with its exact id (timer_t values are the
// application's state): kernels >= 6.15 take the id in PR_TIMER_CREATE_RESTORE_IDS mode; older ones
// hand out ids in sequence, so timers are created and discarded until the id matches.
//
// Deadlines stand: every timer (these and timerfds) is read as a time left, and the kernel would
// have fired it at the moment the time ran out, whether or not the program was frozen or gone
// in between. A program that armed a 100 s alarm and reads the clock sees it come at its
// deadline, not 100 s after its restart. So the checkpoint notes the clocks before any timer is
// read (timers_stamp), and the restorer takes off the time that passed since on the timer's
// clock (amber_time_left): CLOCK_REALTIME always (it means the same on any boot), CLOCK_MONOTONIC
// and BOOTTIME on the same boot only (another boot's clocks are another count: the time that was
// left is kept, as syscall/rewind.cc does for interrupted calls); CPU-time clocks never (the
// program's CPU time did not run while it was down). A deadline that passed meanwhile fires at
// once.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"
#include "sys/sys.h"

namespace {
// boot_id ("8-4-4-4-12" hex digits) as 16 bytes; false when it cannot be read.
[[maybe_unused]] bool read_boot_id16(uint8_t out[16]) {
  char b[64];
  size_t n = sys::read_file("/proc/sys/kernel/random/boot_id", b, sizeof b);
  unsigned k = 0;
  for (size_t i = 0; i < n && k < 32; i++) {
    char c = b[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) continue;
    if (!(k & 1)) out[k / 2] = 0;
    out[k / 2] = (uint8_t)(out[k / 2] | (d << ((k & 1) ? 0 : 4)));
    k++;
  }
  return k == 32;
}
[[maybe_unused]] int64_t clock_ns(int clk) {
  sys::ktimespec ts{};
  if (sys::clock_gettime(clk, &ts) < 0) return 0;
  return ts.sec * 1000000000ll + ts.nsec;
}
}  // namespace

#ifdef AMBER_AGENT
#include <errno.h>
#include <string.h>

#include "agent/capture.h"

namespace amber {
// First thing of a capture, before the descriptors (timerfds) are read: a timer read later is
// given back a little late (by the time between the two), never early.
void timers_stamp(Capture& c) {
  c.ext->clock_real_ns = clock_ns(0 /*CLOCK_REALTIME*/);
  c.ext->clock_mono_ns = clock_ns(1 /*CLOCK_MONOTONIC*/);
  c.ext->clock_boot_ns = clock_ns(7 /*CLOCK_BOOTTIME*/);
  if (!read_boot_id16(c.ext->boot_id)) __builtin_memset(c.ext->boot_id, 0, sizeof c.ext->boot_id);
}

long timers_capture(Capture& c, amber_process& pr) {
  for (int w = 0; w < 3; w++) {
    int64_t v[4] = {};
    sys::getitimer(w, v);
    pr.itimers[w].interval_sec = v[0];
    pr.itimers[w].interval_usec = v[1];
    pr.itimers[w].value_sec = v[2];
    pr.itimers[w].value_usec = v[3];
    // Expired, its signal not yet dequeued (every thread is parked with signals blocked, so a
    // SIGALRM that came during the suspend stays pending): the kernel re-arms a periodic
    // itimer only when the signal is dequeued, so it reads 0 left. Kept armed (1 us), else the
    // restorer would not set it at all and it would come back disarmed.
    if (!v[2] && !v[3] && (v[0] || v[1])) pr.itimers[w].value_usec = 1;
  }
  size_t len = 0;
  char* buf = c.read_all("/proc/self/timers", &len);
  if (!buf) return c.failed;
  uint32_t n = 0;
  for (const char* p = buf; *p;) {
    if (sys::sstarts(p, "ID: ")) n++;
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  c.a.take(len + 1);  // keep the text while the table sized from it is filled
  c.timers = static_cast<amber_timer*>(c.a.take(sizeof(amber_timer) * (n ? n : 1)));
  if (!c.timers) return c.fail(-ENOMEM, "scratch exhausted: too many POSIX timers");
  c.ntimers = 0;
  amber_timer* t = nullptr;
  for (const char* p = buf; *p;) {
    if (sys::sstarts(p, "ID: ") && c.ntimers < n) {
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
      // Signed: a CPU-time clock is negative (glibc's timer_create passes CLOCK_THREAD_CPUTIME_ID
      // as -2, CLOCK_PROCESS_CPUTIME_ID as -6, a clock_getcpuclockid one as ~pid << 3 | ...).
      p += 9;
      bool neg = *p == '-';
      if (neg) p++;
      uint64_t v = sys::parse_u(&p, 10);
      t->clockid = neg ? (int32_t)(0 - v) : (int32_t)v;
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
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
// How long has run on clock clk since the checkpoint's stamp (see the top of this file): 0 when
// that clock did not run for the program meanwhile, or nothing says how long it ran.
static int64_t elapsed_ns(int clk) {
  const amber_process_ext& x = *S.v.pext;
  int64_t then;
  switch (clk) {
    case 0: case 8: case 11:  // REALTIME, REALTIME_ALARM, TAI
      then = x.clock_real_ns;
      clk = clk == 11 ? 11 : 0;
      break;
    case 1: case 4: case 6:  // MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE
      then = x.clock_mono_ns;
      clk = 1;
      break;
    case 7: case 9:  // BOOTTIME, BOOTTIME_ALARM
      then = x.clock_boot_ns;
      clk = 7;
      break;
    default:  // CPU-time clocks (process, thread, or another process's)
      return 0;
  }
  if (!then) return 0;
  if (clk != 0 && clk != 11) {
    uint8_t now_id[16];
    bool any = false;
    for (int i = 0; i < 16; i++) any |= x.boot_id[i] != 0;
    if (!any || !read_boot_id16(now_id) || __builtin_memcmp(now_id, x.boot_id, 16)) return 0;
  }
  if (clk == 11) then += clock_ns(11) - clock_ns(0);  // TAI stands at a fixed offset from REALTIME
  int64_t d = clock_ns(clk) - then;
  return d > 0 ? d : 0;
}

bool amber_time_left(int clk, int64_t* sec, int64_t* nsec) {
  if (!*sec && !*nsec) return false;  // disarmed: stays so
  int64_t left = *sec * 1000000000ll + *nsec - elapsed_ns(clk);
  if (left <= 0) left = 1;  // ran out while the program was down: fires at once
  *sec = left / 1000000000ll;
  *nsec = left % 1000000000ll;
  return true;
}

namespace {
int32_t new_tid_of(int32_t old_tid) {
  auto* h = reinterpret_cast<amber_handoff*>(S.hdr.handoff_addr);
  for (uint32_t i = 0; i < S.v.nthreads; i++)
    if (S.v.threads[i].tid == old_tid) return h->new_tids[i];
  return 0;
}

// A CPU-time clock names its thread or process by kernel id (~id << 3 | kind; 0 is the caller):
// this process's and its threads' ids of the checkpoint become this run's. (The caller's own
// thread clock, -2, is this thread's: the main one, which the restorer becomes.)
int32_t cpu_clock_now(int32_t clk) {
  if (clk >= 0) return clk;
  int32_t who = ~(clk >> 3);
  if (!who) return clk;
  auto* h = reinterpret_cast<amber_handoff*>(S.hdr.handoff_addr);
  int32_t now = (clk & 4) ? new_tid_of(who) : who == S.hdr.real_pid ? h->new_pid : 0;
  if (!now) return clk;  // another process's: as it was
  return (int32_t)(((uint32_t)~now << 3) | ((uint32_t)clk & 7));
}
}  // namespace

void timers_restore() {
  const amber_process& p = *S.v.proc;
  for (int w = 0; w < 3; w++) {
    const amber_itimer& t = p.itimers[w];
    if (!t.value_sec && !t.value_usec) continue;
    int64_t v[4] = {t.interval_sec, t.interval_usec, t.value_sec, t.value_usec * 1000};
    // ITIMER_REAL counts on CLOCK_MONOTONIC; VIRTUAL and PROF on the process's CPU time.
    if (w == 0) amber_time_left(1, &v[2], &v[3]);
    v[3] = (v[3] + 999) / 1000;  // back to microseconds, never rounding a deadline earlier
    if (v[3] >= 1000000) { v[2]++; v[3] -= 1000000; }
    sys::setitimer(w, v, nullptr);
  }
  if (!S.v.ntimers) return;
  bool exact = sys::prctl(77 /*PR_TIMER_CREATE_RESTORE_IDS*/, 1, 0, 0, 0) == 0;
  for (uint32_t i = 0; i < S.v.ntimers; i++) {
    const amber_timer& t = S.v.timers[i];
    struct { uint64_t value; int32_t signo, notify; int32_t tid; int32_t pad[11]; } sev = {};
    sev.value = t.sival;
    sev.signo = t.signo;
    sev.notify = t.notify;
    if (t.notify & 4) sev.tid = new_tid_of(t.tid);
    const int32_t clk = cpu_clock_now(t.clockid);
    int id = t.id;
    long r = -1;
    if (exact) {
      r = sys::timer_create(clk, &sev, &id);
    } else {
      for (int tries = 0; tries < 4096; tries++) {
        int got = -1;
        r = sys::timer_create(clk, &sev, &got);
        if (r < 0 || got == t.id) break;
        if (got > t.id) { sys::sc1(sys::NR_timer_delete, got); r = -22; break; }
      }
      // ids below t.id created on the way are left unarmed (harmless, never returned to the app)
    }
    if (r < 0) { put("amber: warning: a POSIX timer could not be recreated\n"); continue; }
    int64_t v[4] = {t.interval_sec, t.interval_nsec, t.value_sec, t.value_nsec};
    if (amber_time_left(t.clockid, &v[2], &v[3])) sys::timer_settime(t.id, 0, v, nullptr);
  }
  if (exact) sys::prctl(77, 0, 0, 0, 0);
}
}  // namespace rs
#endif
