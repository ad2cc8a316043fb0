// Zombie children: children that exited and that the process has not reaped yet
// (amber_process_ext.zombies_addr/nzombies, amber_zombie). A zombie runs no agent and is in no image;
// its parent must still find it after a restart: waitid/waitpid report it, with its status, under
// the pid fork returned, and reap it.
//
// Capture (agent): the children of every thread (/proc/self/task/T/children) in state Z, their
// status read with waitid(WNOWAIT) (not reaped). A child still on its way out (exiting, or a zombie
// leader whose other threads are still dying) is waited for until waitid reports it, boundedly. The table lives in the agent's memory (.bss,
// restored with it); the image says where.
// Restore (stage 3, memory back, before the signal actions): for each, fork a child that exits at
// once with that status (a signal status: killed by that signal, default action, no core: a
// dumped status comes back as killed), wait until it is a zombie (not reaped), and write its
// kernel pid into the table; their SIGCHLDs are dropped (the parent had the original ones; one
// pending at the checkpoint is pending again: proc/signals.cc). The agent's pid translation
// consults the table (pid/pid.cc): the program sees the pid it knew.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"
#include "proc/children.h"

namespace amber {
namespace {
constexpr uint32_t kMaxZombies = 1024;
amber_zombie g_zombies[kMaxZombies];
volatile uint32_t g_nzombies;

// Is the process whose stat line buf holds exiting (PF_EXITING in its flags, the 9th field) but
// not yet a zombie?
bool exiting(const char* buf) {
  const char* p = nullptr;
  for (const char* q = buf; *q; q++) if (*q == ')') p = q;
  if (!p) return false;
  p++;
  for (int field = 3; field < 9; field++) {  // state, ppid, pgrp, session, tty_nr, tpgid
    while (*p == ' ') p++;
    while (*p && *p != ' ') p++;
  }
  while (*p == ' ') p++;
  return (sys::parse_u(&p, 10) & 0x4 /*PF_EXITING*/) != 0;
}

// Is every thread of process pid exiting or gone (an exit_group under way), rather than some
// still running (a main thread that ended by itself while the others go on)?
bool all_threads_leaving(int32_t pid) {
  char path[64], dents[2048], st[1024];
  bool leaving = true;
  each_thread(pid, dents, sizeof dents, [&](int32_t tid) {
    sys::Out t(path, sizeof path);
    t.s("/proc/").i(pid).s("/task/").i(tid).s("/stat");
    size_t n = sys::read_file(path, st, sizeof st - 1);
    st[n] = 0;
    const char* rp = nullptr;
    for (const char* q = st; *q; q++) if (*q == ')') rp = q;
    if (n && rp && !(rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X')) && !exiting(st)) leaving = false;
    return leaving;
  });
  return leaving;  // (gone meanwhile: left)
}
}  // namespace

int32_t zombie_real(int32_t app) {
  uint32_t n = __atomic_load_n(&g_nzombies, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++)
    if (g_zombies[i].app_pid == app && g_zombies[i].new_pid > 0) return g_zombies[i].new_pid;
  return 0;
}

int32_t zombie_app(int32_t real) {
  uint32_t n = __atomic_load_n(&g_nzombies, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n; i++)
    if (g_zombies[i].new_pid == real) return g_zombies[i].app_pid;
  return 0;
}

// A parent that ignores SIGCHLD (or set SA_NOCLDWAIT) has its children reaped by the kernel, and
// its blocking wait fails with ECHILD once the last one is marked dead (state X), a moment before
// the kernel releases that child's pid: in between, kill(child, 0) still succeeds. Without amber
// the moment is a few instructions; under amber every process has a second thread (the checkpoint
// thread), so its leader is released only after that thread's own exit, and the program (corpus
// sig-sigchld-ign: wait() says ECHILD, then kill(child, 0) finds it, about 1 run in 9 under load)
// could tell. So, after ECHILD in an autoreaping process, wait until no child of ours is in state
// X any more (bounded: 1 s). Async-signal-safe (waitpid is): raw calls, 3 KiB of stack.
void echild_settle() {
  sys::ksigaction ka{};
  if (sys::rt_sigaction(17 /*SIGCHLD*/, nullptr, &ka) < 0) return;
  if (ka.handler != 1 /*SIG_IGN*/ && !(ka.flags & 2 /*SA_NOCLDWAIT*/)) return;
  int saved = errno;
  char buf[1024], dents[1024], st[1024];
  for (int i = 0; i < 1000; i++) {
    bool dying = false;
    each_child(buf, sizeof buf, dents, sizeof dents, [&](int32_t kid) {
      char path[48];
      sys::Out o(path, sizeof path);
      o.s("/proc/").i(kid).s("/stat");
      path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
      size_t n = sys::read_file(path, st, sizeof st - 1);
      st[n] = 0;
      const char* rp = nullptr;
      for (const char* q = st; *q; q++) if (*q == ')') rp = q;
      dying = rp && rp[1] == ' ' && rp[2] == 'X';
      return !dying;
    });
    if (!dying) break;
    sys::ktimespec ts{0, 1000000};
    sys::nanosleep(&ts, nullptr);
  }
  errno = saved;
}

long zombies_capture(Capture& c, amber_process& pr) {
  amber_zombie* found = static_cast<amber_zombie*>(c.a.take(sizeof(amber_zombie) * kMaxZombies));
  char* buf = static_cast<char*>(c.a.take(8192));
  char* dents = static_cast<char*>(c.a.take(16384));
  if (!found || !buf || !dents) return c.fail(-ENOMEM, "scratch exhausted");
  uint32_t n = 0;
  long err = 0;
  each_child(buf, 8192, dents, 16384, [&](int32_t kid) {
    // A child on its way out: its agent's connection closed with its descriptors, before it
    // could be waited for, so the coordinator left it out of the generation as exited; skipped
    // here, it was nowhere, and after a restart its parent's waitpid got ECHILD (fork loops, about
    // 1 run in 10 under load). Two windows: the kernel has not made it a zombie yet (PF_EXITING),
    // or its leader is a zombie while its other threads (the agent's checkpoint thread, at
    // least) are still dying, when waitid does not report it yet. Both end within moments: it is
    // waited for, boundedly, as long as every thread of it is on its way out (a process whose
    // main thread alone ended, pthread_exit, lives on: not a zombie of ours).
    char st[1024];
    siginfo_t si;
    for (int i = 0;; i++) {
      bool z = stat_zombie(kid, st);
      if (!z && !exiting(st)) return true;  // alive: a process of the generation, or not ours
      memset(&si, 0, sizeof si);
      // Its status, leaving it unreaped (WNOWAIT).
      if (sys::sc5(247 /*waitid*/, 1 /*P_PID*/, kid, (long)&si, 4 /*WEXITED*/ | 1 /*WNOHANG*/ | 0x01000000 /*WNOWAIT*/, 0) < 0)
        return true;
      if (si.si_pid == kid) break;
      if (i >= 2000 || !all_threads_leaving(kid)) return true;
      sys::ktimespec ts{0, 1000000};
      sys::nanosleep(&ts, nullptr);
    }
    if (n == kMaxZombies) {
      err = c.fail(-E2BIG, "more than 1024 unreaped (zombie) children");
      return false;
    }
    found[n++] = amber_zombie{pid::to_app(kid), si.si_code, si.si_status, kid};
    return true;
  });
  if (err) return err;
  // Replaced whole while the program's threads are parked (to_app above still used the old one).
  __atomic_store_n(&g_nzombies, 0u, __ATOMIC_RELEASE);
  memcpy(g_zombies, found, sizeof(amber_zombie) * n);
  __atomic_store_n(&g_nzombies, n, __ATOMIC_RELEASE);
  if (n) {
    pr.proc_flags |= AMBER_PROC_ZOMBIES;
    c.ext->zombies_addr = reinterpret_cast<uint64_t>(&g_zombies[0]);
    c.ext->nzombies = n;
  }
  return 0;
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
void zombies_restore() {
  const amber_process& p = *S.v.proc;
  const amber_process_ext& px = *S.v.pext;
  if (!(p.proc_flags & AMBER_PROC_ZOMBIES) || !px.nzombies) return;
  uint64_t addr = px.zombies_addr, len = (uint64_t)px.nzombies * sizeof(amber_zombie);
  // The table must be agent memory we restored: private, writable, with its data.
  bool ok = false;
  for (uint32_t i = 0; i < S.v.nregions && !ok; i++) {
    const amber_region& r = S.v.regions[i];
    ok = (r.prot & 2) && !(r.flags & (AMBER_REG_SHARED | AMBER_REG_NODATA)) && addr >= r.start && addr + len <= r.end && addr + len > addr;
  }
  if (!ok || (addr & 3)) {
    warn_me("its unreaped children cannot be made again (their table is not in its memory)", -22);
    return;
  }
  amber_zombie* z = reinterpret_cast<amber_zombie*>(addr);
  for (uint32_t i = 0; i < px.nzombies; i++) {
    long pid = sys::sc5(sys::NR_clone, 17 /*SIGCHLD*/, 0, 0, 0, 0);
    if (pid == 0) {
      if (z[i].code == 1 /*CLD_EXITED*/) sys::exit_group(z[i].status & 0xff);
      int sig = z[i].status;
      uint64_t zero[2] = {0, 0};
      sys::prlimit(0, 4 /*RLIMIT_CORE*/, zero, nullptr);  // no core file: killed, not dumped
      sys::ksigaction dfl{0 /*SIG_DFL*/, 0, 0, 0};
      if (sig > 0 && sig < 65) {
        sys::rt_sigaction(sig, &dfl, nullptr);
        uint64_t m = 1ull << (sig - 1);
        sys::rt_sigprocmask(1 /*SIG_UNBLOCK*/, &m, nullptr);
        sys::kill((int)sys::getpid(), sig);
      }
      sys::exit_group(128 + (sig & 0x7f));
    }
    if (pid < 0) {
      warn_me("cannot make an unreaped child again", pid);
      z[i].new_pid = 0;
      continue;
    }
    z[i].new_pid = (int32_t)pid;
    // Until it is a zombie, not reaped (WNOWAIT): the program may wait for it with WNOHANG.
    char si[128];
    long r;
    do r = sys::sc5(247 /*waitid*/, 1 /*P_PID*/, pid, (long)si, 4 /*WEXITED*/ | 0x01000000 /*WNOWAIT*/, 0);
    while (r == -4 /*EINTR*/);
  }
  // Their SIGCHLD (every signal is blocked here): the process had the originals already.
  uint64_t chld = 1ull << (17 - 1);
  sys::ktimespec zero{0, 0};
  while (sys::sc4(128 /*rt_sigtimedwait*/, (long)&chld, 0, (long)&zero, 8) > 0) {}
}

// After zombies_restore: the kernel pid of the unreaped child the program knows as app (a pidfd
// on it is opened then: fd/pidfd.cc), 0 when it is none of ours.
int32_t zombie_new_pid(int32_t app) {
  const amber_process& p = *S.v.proc;
  const amber_process_ext& px = *S.v.pext;
  if (!(p.proc_flags & AMBER_PROC_ZOMBIES) || !px.nzombies || app <= 0) return 0;
  // (zombies_restore checked the table lies in restored memory; it warned and made none if not)
  const amber_zombie* z = reinterpret_cast<const amber_zombie*>(px.zombies_addr);
  for (uint32_t i = 0; i < px.nzombies; i++)
    if (z[i].app_pid == app) return z[i].new_pid;
  return 0;
}
}  // namespace rs
#endif
