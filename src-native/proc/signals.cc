// Signal dispositions (amber_process.sigactions: the kernel's struct sigaction for signals 1-64,
// handler, flags, restorer, mask). The per-thread blocked masks and alternate stacks travel with
// the threads (thread/thread.cc). Signals pending for the whole process (sent while blocked: a
// program waiting for them with sigwaitinfo or a signalfd) are pending again after a restart.
//
// Capture: rt_sigaction(sig, NULL, &old) for every signal but SIGKILL and SIGSTOP. The agent's own
// suspend signal is one of them: its handler is the agent's, in the saved memory, so it comes back
// as it was. Restore (stage 3, after the memory is back, so the handler addresses are valid
// again): rt_sigaction for each; then every process-wide pending signal (ShdPnd of
// /proc/self/status) is queued again to the process, by its main thread (the only one allowed to
// give a signal its sender): sent by the process itself (SI_USER, its app pid, its uid). That
// mask is only what the agent could not take with its siginfo: each thread takes its own queue
// in the suspend handler (pending_take) and the checkpoint thread what came for the process after
// (g_late), all given back with their siginfo when the threads are released.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"
#include "proc/stopped.h"

namespace amber {
namespace {
// One pending signal: which queue it was on, and its siginfo as the kernel gave it.
struct PendingSig {
  int32_t shared;
  int32_t pad;
  uint8_t info[128];
};
constexpr size_t kFirstMap = 64 * 1024;

// SigPnd (this thread's own queue) and ShdPnd (the process's) of /proc/thread-self/status.
void pending_masks(uint64_t* own, uint64_t* shd) {
  char st[4096];
  size_t n = sys::read_file("/proc/thread-self/status", st, sizeof st - 1);
  st[n] = 0;
  *own = *shd = 0;
  for (const char* p = st; *p;) {
    uint64_t* to = sys::sstarts(p, "SigPnd:") ? own : sys::sstarts(p, "ShdPnd:") ? shd : nullptr;
    if (to) {
      p += 7;
      while (*p == ' ' || *p == '\t') p++;
      *to = sys::parse_u(&p, 16);
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
}

// Does si_pid hold a process id (sent by kill/sigqueue/tgkill/mq_notify, or a child's change)?
bool has_pid(int sig, int32_t code) {
  return code == 0 /*SI_USER*/ || code == -1 /*SI_QUEUE*/ || code == -6 /*SI_TKILL*/ || code == -3 /*SI_MESGQ*/ ||
         (sig == 17 /*SIGCHLD*/ && code >= 1 && code <= 6);
}

bool take_one(PendingSigs* ps, int sig, bool shared) {
  if (ps->n == ps->cap) {
    size_t old = (size_t)ps->cap * sizeof(PendingSig), len = old ? old * 2 : kFirstMap;
    long m = old ? sys::mremap(ps->map, old, len, 1 /*MREMAP_MAYMOVE*/, nullptr)
                 : sys::mmap(nullptr, len, 3 /*RW*/, 0x22 /*PRIVATE|ANONYMOUS*/, -1, 0);
    if (m < 0 && m > -4096) return false;  // left on the kernel's queue
    ps->map = reinterpret_cast<char*>(m);
    ps->cap = (uint32_t)(len / sizeof(PendingSig));
  }
  PendingSig& e = reinterpret_cast<PendingSig*>(ps->map)[ps->n];
  uint64_t set = 1ull << (sig - 1);
  sys::ktimespec zero{0, 0};
  if (sys::sc4(128 /*rt_sigtimedwait*/, (long)&set, (long)e.info, (long)&zero, 8) != sig) return false;
  e.shared = shared;
  int32_t* f = reinterpret_cast<int32_t*>(e.info);  // si_signo, si_errno, si_code, pad, si_pid
  // Kept as the application's pid: after a restart it is sent as that pid's kernel pid of then.
  if (has_pid(sig, f[2]) && f[4] > 0) f[4] = pid::to_app(f[4]);
  ps->n++;
  return true;
}
}  // namespace

// In the suspend handler, every signal blocked. The kernel dequeues a thread's own queue before the
// process's: the thread's own signals of one number are taken while SigPnd still shows it, then the
// main thread takes the process's until none is left. Only a thread can queue a signal to itself
// with its original si_code (SI_USER, SI_TKILL, the kernel's), and only the main thread (tid ==
// pid) to the process: so each gives back its own, the main thread the process's.
void pending_take(PendingSigs* ps) {
  ps->map = nullptr;
  ps->n = ps->cap = 0;
  uint64_t own, shd;
  pending_masks(&own, &shd);
  uint64_t keep = g.sig ? ~(1ull << (g.sig - 1)) : ~0ull;
  keep &= ~((1ull << 8) | (1ull << 18));  // SIGKILL, SIGSTOP
  bool main = sys::gettid() == sys::getpid();
  own &= keep;
  shd = main ? shd & keep : 0;
  for (int s = 1; s <= 64 && own; s++) {
    if (!(own & (1ull << (s - 1)))) continue;
    for (;;) {
      uint64_t o, sh;
      pending_masks(&o, &sh);
      if (!(o & (1ull << (s - 1))) || !take_one(ps, s, false)) break;
    }
  }
  for (int s = 1; s <= 64 && shd; s++) {
    if (!(shd & (1ull << (s - 1)))) continue;
    while (take_one(ps, s, true)) {}
  }
}

void pending_give(PendingSigs* ps) {
  if (!ps->map) return;
  int32_t pid = (int32_t)sys::getpid(), tid = (int32_t)sys::gettid();
  for (uint32_t i = 0; i < ps->n; i++) {
    PendingSig& e = reinterpret_cast<PendingSig*>(ps->map)[i];
    int32_t* f = reinterpret_cast<int32_t*>(e.info);
    int sig = f[0];
    if (has_pid(sig, f[2]) && f[4] > 0) f[4] = pid::to_real(f[4]);
    long r = e.shared ? sys::sc3(129 /*rt_sigqueueinfo*/, pid, sig, (long)e.info)
                      : sys::sc4(297 /*rt_tgsigqueueinfo*/, pid, tid, sig, (long)e.info);
    if (r < 0) {
      // e.g. RLIMIT_SIGPENDING reached by signals sent while we were parked: the one we cannot
      // queue is said, not silently dropped.
      static const char msg[] = "amber: warning: a pending signal could not be queued again\n";
      sys::write_all(2, msg, sizeof msg - 1);
    }
  }
  sys::munmap(ps->map, (size_t)ps->cap * sizeof(PendingSig));
  ps->map = nullptr;
  ps->n = ps->cap = 0;
}

// Signals sent to the whole process after the main thread had emptied its queue (a timer that
// fired, a kill that came, while every thread was parked): the checkpoint thread takes them in
// signals_capture, siginfo and all, into a mapping saved with memory, and the main thread queues
// them again when it is released (pending_give_late), live or restored. Left on the kernel's
// queue they would come back through the image's pending mask as sent by the process itself
// (SI_USER): a timer's SI_TIMER, value and id, a sigqueue's value, the sender, would be lost.
PendingSigs g_late;

void pending_give_late() {
  if (sys::gettid() == sys::getpid()) pending_give(&g_late);
}

void signals_capture(amber_process& pr) {
  // Only the main thread can give back what we take (SI_USER and SI_TKILL need tid == pid): when
  // it is not among the parked threads (it exited), what is pending stays in the mask.
  bool main = false;
  for (uint32_t i = 0; i < g.nslots; i++) main |= (g_slots[i].rec.flags & AMBER_THR_MAIN) != 0;
  if (main && !g_late.map) {
    uint64_t own, shd;
    pending_masks(&own, &shd);
    uint64_t keep = g.sig ? ~(1ull << (g.sig - 1)) : ~0ull;
    shd &= keep & ~((1ull << 8) | (1ull << 18));  // SIGKILL, SIGSTOP
    // The SIGCHLDs our continuing of stopped children raised are absorb()'s to drop at resume
    // (proc/stopped.agent.cc): left where it looks for them.
    if (stopped::continued()) shd &= ~(1ull << (17 /*SIGCHLD*/ - 1));
    for (int s = 1; s <= 64 && shd; s++)
      if (shd & (1ull << (s - 1)))
        while (take_one(&g_late, s, true)) {}
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
  char st[4096];
  size_t n = sys::read_file("/proc/self/status", st, sizeof st - 1);
  st[n] = 0;
  for (const char* p = st; *p;) {
    if (sys::sstarts(p, "ShdPnd:")) {
      p += 7;
      while (*p == ' ' || *p == '\t') p++;
      pr.pending_signals = sys::parse_u(&p, 16);
      break;
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
void signals_restore() {
  const amber_process& p = *S.v.proc;
  for (int s = 1; s < (int)AMBER_NSIG; s++) {
    if (s == 9 || s == 19) continue;
    sys::ksigaction ka{p.sigactions[s].handler, p.sigactions[s].flags, p.sigactions[s].restorer, p.sigactions[s].mask};
    sys::rt_sigaction(s, &ka, nullptr);
  }
  // Pending again (every signal is blocked here: they wait for a thread that unblocks them).
  for (int s = 1; s < (int)AMBER_NSIG; s++) {
    if (!(p.pending_signals & (1ull << (s - 1))) || s == 9 || s == 19 || s == (int)p.suspend_signal) continue;
    struct { int32_t signo, err, code, pad; int32_t pid; uint32_t uid; uint8_t rest[104]; } info{};
    info.signo = s;
    info.code = 0;  // SI_USER
    info.pid = p.app_pid ? p.app_pid : (int32_t)sys::getpid();
    info.uid = (uint32_t)sys::sc0(102 /*getuid*/);
    sys::sc3(129 /*rt_sigqueueinfo*/, sys::getpid(), s, (long)&info);
  }
}
}  // namespace rs
#endif
