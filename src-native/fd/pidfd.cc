// pidfds (AMBER_FD_ANON, subkind PIDFD; extra = the app pid of the process it refers to).
//
// Capture: the pid from fdinfo ("Pid:"), as the application knows it. A pidfd whose process is
// gone ("Pid: -1") or is not one of the computation's cannot be rebuilt (a pid outside the
// computation may name another process by the time of the restart): named at checkpoint. A child
// of ours that exited and is not reaped yet (a zombie: no agent runs in it, its environment
// reads empty) is ours: proc/zombie.cc makes it again.
//
// Restore: once the tree is forked every restored process exists under its new kernel pid; each
// process opens its pidfds then (pidfd_open on that pid, PIDFD_NONBLOCK kept), before its own
// restore, so waitid(P_PIDFD), poll and pidfd_send_signal reach the right process again. A pidfd
// on an unreaped child is opened in stage 3 instead, once zombies_restore has made the child again
// (a new zombie with its status): readable at once, and waitid(P_PIDFD) reaps it.
#include "fd/ops.h"
#include "fd/file.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"
#include "pid/pid.h"
#include "proc/children.h"

namespace fd {
namespace {
// Does the process carry the agent (so it is one of the computation's)? Its environment says:
// AMBER_COORD=, looked for at the start of each entry, read 4 KiB at a time.
bool in_computation(int32_t pid, char* buf) {
  char p[48];
  sys::Out(p, sizeof p).s("/proc/").i(pid).s("/environ");
  long fd = sys::open(p, 02000000 /*O_CLOEXEC*/);
  if (fd < 0) return true;  // unreadable: let the restart decide (it warns when the pid is not ours)
  static const char kKey[] = "AMBER_COORD=";
  constexpr size_t kLen = sizeof kKey - 1;
  size_t keep = 0;  // bytes carried over from the previous read (a possible start of the key)
  bool at_start = true, found = false;
  for (;;) {
    long r = sys::read((int)fd, buf + keep, 4096);
    if (r <= 0) break;
    size_t n = keep + (size_t)r;
    size_t i = 0;
    for (; i < n; i++) {
      if (at_start && n - i >= kLen && !__builtin_memcmp(buf + i, kKey, kLen)) { found = true; break; }
      if (at_start && n - i < kLen) break;  // maybe the key, cut by the read: carry it over
      at_start = buf[i] == 0;
    }
    if (found) break;
    keep = n - i;
    __builtin_memmove(buf, buf + i, keep);
  }
  sys::close((int)fd);
  return found;
}

// Is pid an unreaped child of ours (state Z, parent us)? zombies_capture saves it.
bool our_zombie(int32_t pid, char* buf) {
  int64_t ppid = 0;
  return amber::stat_zombie(pid, buf, &ppid) && ppid == sys::getpid();
}
}  // namespace

void pidfd_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_ANON_PIDFD;
  for (const char* p = c.info; *p;) {
    if (sys::sstarts(p, "Pid:")) {
      p += 4;
      while (*p == ' ' || *p == '\t') p++;
      int32_t pid = *p == '-' ? 0 : (int32_t)sys::parse_u(&p, 10);
      if (pid > 0 && (in_computation(pid, c.tmp) || our_zombie(pid, c.tmp))) f.extra = (uint64_t)(uint32_t)amber::pid::to_app(pid);
      break;
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
}
bool pidfd_restorable(const amber::Capture&, const amber_fd& f) { return f.extra != 0; }
AMBER_FD_NO_RESUMED(pidfd)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
void pidfds_forked(int me) {
  const amber_view& v = T.img[me].v;
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if (f.kind != AMBER_FD_ANON || f.subkind != AMBER_ANON_PIDFD || T.img[me].prep[i] >= 0) continue;
    int32_t real = tree_real_pid((int32_t)f.extra);
    if (real <= 0) continue;  // an unreaped child, made in stage 3 (pidfd_restore), or said there
    long fd = lift(sys::sc2(sys::NR_pidfd_open, real, f.flags & sys::O_NONBLOCK_ /*PIDFD_NONBLOCK*/));
    if (fd < 0) { warn_fd("cannot open its pidfd again", f, fd, "it becomes /dev/null"); continue; }
    T.img[me].prep[i] = (int32_t)fd;
  }
}
}  // namespace rs

namespace fd {
AMBER_FD_NO_CHECK(pidfd)
AMBER_FD_NO_PREPARE(pidfd)
// Stage 3, after zombies_restore: a pidfd pidfds_forked left, on an unreaped child of ours.
long pidfd_restore(rs::Proc& p, uint32_t i) {
  const amber_fd& f = p.v->fds[i];
  int32_t real = rs::zombie_new_pid((int32_t)f.extra);
  if (real <= 0) {
    rs::warn_fd("its pidfd refers to a process that is not restored with it", f, -3 /*ESRCH*/, "it becomes /dev/null");
    return -1;
  }
  // (lifted above every saved number, as every kind's new descriptor: put_back moves it down)
  long fd = rs::lift(sys::sc2(sys::NR_pidfd_open, real, f.flags & sys::O_NONBLOCK_ /*PIDFD_NONBLOCK*/));
  if (fd < 0) rs::warn_fd("cannot open its pidfd on an unreaped child again", f, fd, "it becomes /dev/null");
  return fd;
}
AMBER_FD_NO_FINISH(pidfd)
}  // namespace fd
#endif
