// timerfd (AMBER_FD_ANON, subkind TIMERFD; data = one amber_timerfd: clock, flags, expirations
// not yet read, time left and interval). Capture: all of it from fdinfo. Restore: a new timerfd on
// the same clock armed for the same deadline (the time that was left, less the time its clock ran
// while the program was down: rs::amber_time_left), absolute again when it was set
// TFD_TIMER_ABSTIME; expirations not yet read make it fire at once.
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace {
int64_t parse_i(const char** p) {
  bool neg = **p == '-';
  if (neg) (*p)++;
  int64_t v = (int64_t)sys::parse_u(p, 10);
  return neg ? -v : v;
}
const char* skip_space(const char* p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}
}  // namespace

namespace fd {
void timerfd_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_TIMERFD;
  amber_timerfd tf{};
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "clockid:")) { p = skip_space(p + 8); tf.clockid = (int32_t)sys::parse_u(&p, 10); }
    else if (sys::sstarts(p, "ticks:")) { p = skip_space(p + 6); tf.ticks = sys::parse_u(&p, 10); }
    else if (sys::sstarts(p, "settime flags:")) { p = skip_space(p + 14); tf.settime_flags = (int32_t)sys::parse_u(&p, 8); }
    else if (sys::sstarts(p, "it_value: (")) { p += 11; tf.value_sec = parse_i(&p); p += 2; tf.value_nsec = parse_i(&p); }
    else if (sys::sstarts(p, "it_interval: (")) { p += 14; tf.interval_sec = parse_i(&p); p += 2; tf.interval_nsec = parse_i(&p); }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  f.data = c.str.add(reinterpret_cast<const char*>(&tf), sizeof tf);
}
bool timerfd_restorable(const amber::Capture&, const amber_fd&) { return true; }
AMBER_FD_NO_RESUMED(timerfd)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace fd {
AMBER_FD_NO_CHECK(timerfd)
AMBER_FD_NO_PREPARE(timerfd)
long timerfd_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  amber_timerfd t{};
  const char* d;
  uint32_t len;
  if (!amber_str_at(p.v, f.data, &d, &len) || len != sizeof t) return -22;
  memcpy(&t, d, sizeof t);
  int fl = ((f.fd_flags & 1) ? sys::O_CLOEXEC_ : 0) | (f.flags & sys::O_NONBLOCK_);
  long fd = rs::lift(sys::sc2(sys::NR_timerfd_create, t.clockid, fl));
  if (fd < 0) return fd;
  int64_t v[4] = {t.interval_sec, t.interval_nsec, t.value_sec, t.value_nsec};
  if (!v[2] && !v[3] && t.ticks) v[3] = 1;  // expirations not yet read: fire at once
  // The deadline stands through the time the program was down (proc/timers.cc).
  if (!rs::amber_time_left(t.clockid, &v[2], &v[3])) return fd;
  int sfl = 0;
  if (t.settime_flags & 1 /*TFD_TIMER_ABSTIME*/) {
    // Armed on an absolute deadline: so again (timerfd_gettime and fdinfo read the same, and a
    // CLOCK_REALTIME one set with TFD_TIMER_CANCEL_ON_SET still reacts to the clock being set).
    sys::ktimespec now{};
    if (sys::clock_gettime(t.clockid, &now) == 0) {
      int64_t at = now.sec * 1000000000ll + now.nsec + v[2] * 1000000000ll + v[3];
      v[2] = at / 1000000000ll;
      v[3] = at % 1000000000ll;
      sfl = t.settime_flags & 3;
    }
  }
  sys::sc4(sys::NR_timerfd_settime, fd, sfl, (long)v, 0);
  return fd;
}
AMBER_FD_NO_FINISH(timerfd)
}  // namespace fd
#endif
