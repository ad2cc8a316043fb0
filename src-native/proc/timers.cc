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
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <string.h>

#include "agent/capture.h"

namespace amber {
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
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
int32_t new_tid_of(int32_t old_tid) {
  auto* h = reinterpret_cast<amber_handoff*>(S.hdr.handoff_addr);
  for (uint32_t i = 0; i < S.v.nthreads; i++)
    if (S.v.threads[i].tid == old_tid) return h->new_tids[i];
  return 0;
}
}  // namespace

void timers_restore() {
  const amber_process& p = *S.v.proc;
  for (int w = 0; w < 3; w++) {
    const amber_itimer& t = p.itimers[w];
    if (!t.value_sec && !t.value_usec) continue;
    int64_t v[4] = {t.interval_sec, t.interval_usec, t.value_sec, t.value_usec};
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
}  // namespace rs
#endif
