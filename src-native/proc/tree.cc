// The process tree: parents and children, process groups, sessions, controlling terminals
// (amber_process.app_pid, pgid, sid, tpgid, ctty_rdev; the header's parent_vpid).
//
// Capture: group, session, terminal and foreground group from /proc/self/stat, as the
// application knows them (its pids, through the pid map, not the kernel's).
//
// Restore: one restorer restores a whole tree. It forks the tree before anything is restored, so
// every restored child is the kernel child of its restored parent (waitpid, SIGCHLD and
// PR_SET_PDEATHSIG keep working); every process then restores its own image. The images are listed
// parents first (restart's --parent N), children in the order they are forked. Nothing is
// restored until every process exists (a barrier on a page shared by the tree): a fork that fails
// ends the whole tree, not part of it.
// Sessions are made while the tree is forked: a session leader forks the children that stayed in
// the older session, calls setsid(), then forks those that belong to its own (sessions are
// inherited, and no process can join another session later); it takes its controlling terminal
// when that is a pty rebuilt here (fd/pty.cc). Process groups are set once every process exists:
// a group's leader creates it, its members join it by the leader's new kernel pid (published in the
// shared page). A group or session whose leader is not in the computation (the shell's that
// launched it) is the restart's own: those processes stay where they are forked.
// An orphan (its parent died before the checkpoint: adopted by init or a subreaper outside the
// computation) is restored in the tree of the process amber launched (restart --orphan), forked
// through a go-between that exits, so it is adopted again and still shares its pipes and memory
// with the processes it shared them with.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include <errno.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"
#include "fd/stdio.h"
#include "proc/children.h"
#include "syscall/table.h"

namespace amber {
void tree_capture(amber_process& pr, const uint64_t* f) {
  pr.app_pid = g.app_pid;
  // The parent the program sees now, which a restarted agent answers getppid with while it is the
  // child of what restored it: an orphan adopted by a subreaper (or by init) has a new one.
  g.app_ppid = pid::app_getppid();
  pr.pgid = pid::to_app((int32_t)f[5]);
  pr.sid = pid::to_app((int32_t)f[6]);
  pr.ctty_rdev = f[7];
  pr.tpgid = f[8] ? pid::to_app((int32_t)f[8]) : 0;  // "-1" (no terminal) parses as 0
  if (stdio_known()) pr.proc_flags |= AMBER_PROC_STDIO_KNOWN;
}

// A child made by clone(2) with CLONE_FILES or CLONE_VM but not as a thread shares our
// descriptor table or our memory: two processes, one object. The restorer rebuilds each process's
// table and memory as its own, so such a pair would come back as two unrelated copies — a silent
// change. Refused by name at suspend (before anything is parked, and before the coordinator waits
// for the child to register, which it never does: it runs no agent thread of its own). kcmp says
// what is shared; on a kernel without it there is nothing to say. Checkpoint thread only.
// Except for a moment: vfork() and posix_spawn() (make, the shell, every spawn of glibc) make
// their child with CLONE_VM|CLONE_VFORK, and it shares our memory until its exec — the thread
// that spawned it waits in the kernel meanwhile. A child found sharing memory is looked at again
// for up to kVforkWaitNs: one that stops sharing (it exec'd or exited) is no refusal.
namespace {
constexpr int64_t kVforkWaitNs = 3000000000ll;

// 0, or -EINVAL with `err` naming the first child that shares; *vm_only: all it shares is memory.
long shared_children_once(char* err, size_t errlen, bool* vm_only) {
  static char buf[8192], dents[4096];
  long self = sys::getpid(), r = 0;
  each_child(buf, sizeof buf, dents, sizeof dents, [&](int32_t kid) {
    constexpr long KCMP_VM = 1, KCMP_FILES = 2;
    const char* what = nullptr;
    *vm_only = false;
    if (sys::sc5(312 /*kcmp*/, self, kid, KCMP_FILES, 0, 0) == 0) what = "its descriptor table (clone with CLONE_FILES)";
    else if (sys::sc5(312 /*kcmp*/, self, kid, KCMP_VM, 0, 0) == 0) what = "its memory (clone with CLONE_VM)", *vm_only = true;
    if (!what) return true;
    sys::Out(err, errlen).s("child process ").i(pid::to_app(kid)).s(" shares ").s(what)
        .s(" with its parent: amber restores every process with its own, so it cannot checkpoint them");
    r = -EINVAL;
    return false;
  });
  return r;
}
}  // namespace

long shared_children_check(char* err, size_t errlen) {
  const int64_t t0 = intr::mono_ns();
  for (;;) {
    bool vm_only = false;
    long r = shared_children_once(err, errlen, &vm_only);
    if (r == 0 || !vm_only || intr::mono_ns() - t0 >= kVforkWaitNs) return r;
    sys::ktimespec ts{0, 1000000};
    sys::nanosleep(&ts, nullptr);
  }
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
int pty_slave_for(uint64_t ctty_rdev);  // fd/pty.cc

namespace {
// The page the tree shares (MAP_SHARED, inherited by every fork).
struct Shared {
  volatile uint32_t go;    // 0 while forking; 1 once every process exists; 2 a fork failed
  volatile uint32_t born;  // processes done forking their children
};
Shared* g_sh;
volatile int32_t* g_real;      // kernel pid of each image's process
volatile uint32_t* g_ready;    // 1 once that process's group exists
int* g_lead;                   // the image leading each image's process group, -1: not ours
int* g_fg;                     // the image leading its terminal's foreground group, -1: none

// (the tree's metadata is gone once forking starts: what it needs was copied into Img::ses)
const decltype(Img::ses)& proc_of(int k) { return T.img[k].ses; }
bool has_session_info(int k) { return proc_of(k).app_pid != 0; }
bool session_leader(int k) { return has_session_info(k) && proc_of(k).sid == proc_of(k).app_pid; }

// The image whose process leads (or, if its leader is gone, first belongs to) group pgid; -1 if
// the group is not the computation's. by_pid: images sorted by (app pid, index); by_pgid: by
// (group, index); both only of images that carry session information.
int group_leader(int32_t pgid, const int* by_pid, const int* by_pgid, int m) {
  if (!pgid) return -1;
  int lo = 0, hi = m;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (proc_of(by_pid[mid]).app_pid < pgid) lo = mid + 1;
    else hi = mid;
  }
  if (lo < m && proc_of(by_pid[lo]).app_pid == pgid) return by_pid[lo];
  lo = 0, hi = m;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (proc_of(by_pgid[mid]).pgid < pgid) lo = mid + 1;
    else hi = mid;
  }
  // A member other than through the root's group: the leader was ours.
  bool internal = false;
  for (int k = lo; k < m && proc_of(by_pgid[k]).pgid == pgid && !internal; k++)
    internal = proc_of(by_pgid[k]).sid != proc_of(0).sid;
  return internal ? by_pgid[lo] : -1;
}

void wake(volatile uint32_t* w) { sys::futex(w, 1 /*FUTEX_WAKE, shared*/, 0x7fffffff, nullptr); }

bool wait_ready(int k) {
  sys::ktimespec ms{0, 100000000};
  for (int i = 0; i < 100; i++) {  // ~10 s: every leader only has to call setpgid
    if (__atomic_load_n(&g_ready[k], __ATOMIC_ACQUIRE)) return true;
    sys::futex(&g_ready[k], 0 /*FUTEX_WAIT, shared*/, 0, &ms);
  }
  return __atomic_load_n(&g_ready[k], __ATOMIC_ACQUIRE) != 0;
}

// Right after setsid(): the session's controlling terminal, when it is a pty we rebuilt.
void take_ctty(int me) {
  const auto& p = proc_of(me);
  if (!p.ctty_rdev) return;
  int s = pty_slave_for(p.ctty_rdev);
  if (s < 0) return;
  long r = sys::ioctl(s, 0x540e /*TIOCSCTTY*/, 0);
  if (r < 0) warn_me("cannot make its pseudo-terminal the controlling terminal again", r);
}

void set_group(int me) {
  if (!has_session_info(me)) { __atomic_store_n(&g_ready[me], 1u, __ATOMIC_RELEASE); wake(&g_ready[me]); return; }
  const auto& p = proc_of(me);
  int lead = g_lead[me];
  if (lead == me) {
    long r = session_leader(me) ? 0 : sys::sc2(sys::NR_setpgid, 0, 0);
    if (r < 0) warn_me("cannot recreate its process group", r);
  }
  __atomic_store_n(&g_ready[me], 1u, __ATOMIC_RELEASE);
  wake(&g_ready[me]);
  if (lead >= 0 && lead != me) {
    long r = wait_ready(lead) ? sys::sc2(sys::NR_setpgid, 0, g_real[lead]) : -110 /*ETIMEDOUT*/;
    if (r < 0) warn_me("cannot rejoin its process group", r);
  }
  // The terminal's foreground group, set by the session leader once that group exists.
  int fg = g_fg[me];
  int s = fg >= 0 ? pty_slave_for(p.ctty_rdev) : -1;
  if (s >= 0 && wait_ready(fg)) {
    int32_t pg = g_real[fg];
    long r = sys::ioctl(s, 0x5410 /*TIOCSPGRP*/, (long)&pg);
    if (r < 0) warn_me("cannot set its terminal's foreground process group", r);
  }
}
}  // namespace

int32_t tree_real_pid(int32_t app) {
  if (app <= 0) return -1;
  for (int k = 0; k < T.n; k++)
    if (has_session_info(k) ? proc_of(k).app_pid == app : T.img[k].hdr.real_pid == app) return g_real[k];
  return -1;
}

void tree_link() {
  for (int k = 0; k < T.n; k++) T.img[k].first_child = T.img[k].next_sibling = -1;
  for (int k = T.n - 1; k > 0; k--) {  // from the end: each list comes out in image order
    Img& parent = T.img[T.img[k].parent];
    T.img[k].next_sibling = parent.first_child;
    parent.first_child = k;
  }
}

void tree_prepare() {
  int n = T.n;
  long sh = sys::mmap(nullptr, sizeof(Shared) + (uint64_t)n * 8, sys::PROT_R_ | sys::PROT_W_, sys::MAP_SHARED_ | sys::MAP_ANON_, -1, 0);
  if (sh < 0) die(EXIT_SYSTEM, "out of memory", nullptr, sh);
  g_sh = reinterpret_cast<Shared*>(sh);  // unmapped with everything else in stage 3
  g_real = reinterpret_cast<volatile int32_t*>(g_sh + 1);
  g_ready = reinterpret_cast<volatile uint32_t*>(g_real + n);
  // Every process's group leader and foreground group, computed once here rather than by each
  // process over the whole tree.
  int* by_pid = alloc_n<int>(n);
  int* by_pgid = alloc_n<int>(n);
  int m = 0;
  for (int k = 0; k < n; k++) if (has_session_info(k)) by_pid[m] = by_pgid[m] = k, m++;
  sort(by_pid, m, [](int a, int b) { return proc_of(a).app_pid != proc_of(b).app_pid ? proc_of(a).app_pid < proc_of(b).app_pid : a < b; });
  sort(by_pgid, m, [](int a, int b) { return proc_of(a).pgid != proc_of(b).pgid ? proc_of(a).pgid < proc_of(b).pgid : a < b; });
  g_lead = alloc_n<int>(n);
  g_fg = alloc_n<int>(n);
  for (int k = 0; k < n; k++) {
    const auto& p = proc_of(k);
    g_lead[k] = has_session_info(k) ? group_leader(p.pgid, by_pid, by_pgid, m) : -1;
    g_fg[k] = session_leader(k) && p.tpgid && p.ctty_rdev ? group_leader(p.tpgid, by_pid, by_pgid, m) : -1;
  }
}

void tree_fork() {
  int me = 0;
  for (bool born = true; born;) {
    born = false;
    T.me = me;
    g_real[me] = (int32_t)sys::getpid();
    bool lead = session_leader(me);
    for (int pass = lead ? 0 : 1; pass < 2 && !born; pass++) {
      if (pass == 1 && lead) {
        long r = sys::sc0(sys::NR_setsid);
        if (r < 0 && r != -1 /*EPERM: already a group (or session) leader*/) warn_me("cannot recreate its session", r);
        else if (r < 0 && sys::sc1(sys::NR_getsid, 0) != sys::getpid()) warn_me("cannot recreate its session", r);
        else take_ctty(me);
      }
      for (int i = T.img[me].first_child; i >= 0; i = T.img[i].next_sibling) {
        bool older = lead && has_session_info(i) && proc_of(i).sid != proc_of(me).app_pid;
        if (lead && (pass == 0) != older) continue;
        long pid = sys::sc5(sys::NR_clone, 17 /*SIGCHLD*/, 0, 0, 0, 0);
        if (pid < 0) {
          __atomic_store_n(&g_sh->go, 2u, __ATOMIC_RELEASE);
          wake(&g_sh->go);
          uint64_t lim[2] = {0, 0};
          sys::prlimit(0, sys::RLIMIT_NPROC_, nullptr, lim);
          char msg[120];
          sys::Out(msg, sizeof msg).s("(").i(T.n).s(" processes; RLIMIT_NPROC ").u(lim[0]).s(")");
          die(EXIT_SYSTEM, "cannot fork the process tree", msg, pid);
        }
        if (pid == 0) {
          if (T.img[i].orphan) {
            // Its parent had died: forked through a process that exits at once, so that it is
            // adopted (by the nearest subreaper, or init) as it had been, and shares what the
            // tree made before the fork (pipes, shared memory) with the rest of the computation.
            long g = sys::sc5(sys::NR_clone, 17 /*SIGCHLD*/, 0, 0, 0, 0);
            if (g < 0) {
              __atomic_store_n(&g_sh->go, 2u, __ATOMIC_RELEASE);
              wake(&g_sh->go);
              die(EXIT_SYSTEM, "cannot fork the process tree", "(an orphan)", g);
            }
            if (g > 0) sys::exit_group(0);
          }
          me = i;
          born = true;
          break;
        }
        if (T.img[i].orphan) {
          // The go-between is ours to reap (it exited at once), and its SIGCHLD ours to drop:
          // the restored process must not find a child it never had, nor its signal.
          sys::sc4(sys::NR_wait4, pid, 0, 0, 0);
          uint64_t chld = 1ull << (17 - 1);
          sys::ktimespec zero{0, 0};
          sys::sc4(128 /*rt_sigtimedwait*/, (long)&chld, 0, (long)&zero, 8);
        }
      }
    }
  }
  // Every process exists before any is restored.
  if (__atomic_add_fetch(&g_sh->born, 1u, __ATOMIC_ACQ_REL) == (uint32_t)T.n) {
    __atomic_store_n(&g_sh->go, 1u, __ATOMIC_RELEASE);
    wake(&g_sh->go);
  }
  for (;;) {
    uint32_t go = __atomic_load_n(&g_sh->go, __ATOMIC_ACQUIRE);
    if (go == 1) break;
    if (go == 2) sys::exit_group(EXIT_SYSTEM);  // the process that failed said why
    sys::futex(&g_sh->go, 0 /*FUTEX_WAIT, shared*/, 0, nullptr);
  }
  set_group(me);
}
}  // namespace rs
#endif
