// Stopped children (agent only). A process stopped by SIGSTOP or job control runs nothing, its
// agent's checkpoint thread included: it cannot answer `suspend`. Its parent, when the parent is
// in the computation, gets it through the checkpoint without the program seeing anything:
//
//  1. continue (parent's checkpoint thread, every thread of the parent parked): for each child of
//     ours in state T that runs an agent (libamber in its maps), note whether its stop report is
//     still unread (waitid WSTOPPED|WNOWAIT) and whether SIGCHLD is pending for us, queue our
//     suspend signal to each of its threads with a value that says "park for checkpoint G"
//     (rt_tgsigqueueinfo, SI_QUEUE), then SIGCONT it. Each of its threads takes that signal
//     before it runs anything else (it is pending when the thread leaves the stop, or leaves the
//     previous checkpoint's handler) and waits in the agent's handler until its checkpoint
//     thread has read `suspend G` and listed it (agent.cc suspend_handler): a plain suspend
//     signal that comes first never lets it return to the program. The checkpoint thread blocks
//     the suspend signal (agent.cc start_ckpt_thread) and takes its own request (drop_own_park).
//     Either way the child knows to stop again (g.restop). A request for a checkpoint the child
//     was already resumed from is stale (park_generation).
//  2. stop again (the child, at `resume`, live or after a restart): it answers `resumed`, then its
//     checkpoint thread sends SIGSTOP to itself (agent.cc release): taken on the way out of that
//     tgkill, before the parked threads are released, so the whole process stops with every
//     program thread still inside the handler; they are released only when something continues
//     the process, as the program expects.
//  3. absorb (the parent, at `resume`, live or after a restart, before its threads run): wait for
//     each child's stop report (the kernel shows it once every thread of the child has stopped;
//     the state letter of /proc/PID/stat is the main thread's alone), read the report the program
//     had already read (WSTOPPED, not WNOWAIT), drop the SIGCHLDs the continue and the stop raised
//     when none was pending before (one another child raised meanwhile is queued again), and only
//     then answer `resumed`: when the coordinator starts the next checkpoint the child is stopped
//     again and is continued again for it. The table is in our memory: after a restart the same
//     is done with the child's new kernel pid.
// A stopped process whose parent is not in the computation (the launched program stopped from
// outside) is refused by name by the coordinator (lib/coordinator.ts): nothing in the computation
// can read its stop report back or absorb the launcher's view of it.
// Limits: the child stops again with SIGSTOP (an unread report of SIGTSTP/SIGTTIN/SIGTTOU reads as
// SIGSTOP: stopping with those would be ignored in an orphaned process group and blocked in the
// checkpoint thread); a SIGCONT handler of the child runs for our continue too; a process traced
// (state t) is refused.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "proc/children.h"
#include "proc/stopped.h"
#include "sys/sys.h"

namespace amber {
namespace stopped {
namespace {
constexpr int kParkValue = 0x616d6272;  // "ambr": the suspend signal's value that says "park"
constexpr uint32_t kMax = 256;

struct Child {
  int32_t app_pid;
  bool report_unread;  // the program had not read its stop report yet
};
Child g_kids[kMax];
uint32_t g_nkids;
bool g_sigchld_pending;  // SIGCHLD was pending for us before we continued them

char g_buf[8192];  // checkpoint thread only (parked program): no allocation

char state_of(int32_t pid) {
  char path[48];
  sys::Out o(path, sizeof path);
  o.s("/proc/").i(pid).s("/stat");
  path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
  char st[1024];
  size_t n = sys::read_file(path, st, sizeof st - 1);
  st[n] = 0;
  const char* rp = nullptr;
  for (const char* q = st; *q; q++) if (*q == ')') rp = q;
  return rp && rp[1] == ' ' ? rp[2] : 0;
}

bool runs_agent(int32_t pid) {
  char path[48];
  sys::Out o(path, sizeof path);
  o.s("/proc/").i(pid).s("/maps");
  path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
  long fd = sys::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool found = false;
  size_t keep = 0;
  for (;;) {
    long r = sys::read((int)fd, g_buf + keep, sizeof g_buf - 1 - keep);
    if (r <= 0) break;
    size_t len = keep + (size_t)r;
    g_buf[len] = 0;
    for (size_t i = 0; i + 12 <= len && !found; i++) found = !memcmp(g_buf + i, "/libamber.so", 12);
    if (found) break;
    keep = len < 16 ? len : 16;  // a name split across two reads
    memmove(g_buf, g_buf + len - keep, keep);
  }
  sys::close((int)fd);
  return found;
}

void park_threads(int32_t pid) {
  char path[48];
  sys::Out o(path, sizeof path);
  o.s("/proc/").i(pid).s("/task");
  path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
  long dfd = sys::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  char dents[4096];
  for (;;) {
    long r = sys::getdents64((int)dfd, dents, sizeof dents);
    if (r <= 0) break;
    for (long off = 0; off < r;) {
      const char* rec = dents + off;
      off += *reinterpret_cast<const uint16_t*>(rec + 16);
      const char* name = rec + 19;
      if (name[0] < '0' || name[0] > '9') continue;
      const char* q = name;
      int32_t tid = (int32_t)sys::parse_u(&q, 10);
      // Every thread, even one that blocks it now (a thread left parked inside the agent's handler
      // by the previous checkpoint takes it on its way out); the child's checkpoint thread, which
      // blocks every signal, drops its own (drop_own_park).
      siginfo_t si;
      memset(&si, 0, sizeof si);
      si.si_signo = g.sig;
      si.si_code = SI_QUEUE;
      si.si_pid = (pid_t)sys::getpid();
      si.si_uid = (uid_t)sys::sc0(102 /*getuid*/);
      // "park", and for which checkpoint: a request that arrives after that one is over is stale.
      si.si_value.sival_ptr = reinterpret_cast<void*>(((uint64_t)kParkValue << 32) | g.generation);
      sys::sc4(297 /*rt_tgsigqueueinfo*/, pid, tid, g.sig, (long)&si);
    }
  }
  sys::close((int)dfd);
}
}  // namespace

void drop_own_park() {
  // Thread-directed, so pending on this thread only: rt_sigtimedwait takes those first. One for
  // this checkpoint says we were continued for it (whatever order our threads take theirs in).
  uint64_t set = 1ull << (g.sig - 1);
  sys::ktimespec zero{0, 0};
  siginfo_t si;
  for (int i = 0; i < 64; i++) {
    memset(&si, 0, sizeof si);
    if (sys::sc4(128 /*rt_sigtimedwait*/, (long)&set, (long)&si, (long)&zero, 8) <= 0) break;
    if (park_generation(&si)) g.restop = true;
  }
}

uint32_t park_generation(const siginfo_t* si) {
  if (!si || si->si_code != SI_QUEUE) return 0;
  uint64_t v = reinterpret_cast<uint64_t>(si->si_value.sival_ptr);
  // A request for a checkpoint this process has already been resumed from is stale (taken late:
  // a thread that blocked our signal for a while).
  if ((uint32_t)(v >> 32) != (uint32_t)kParkValue || (uint32_t)v <= g.done_gen) return 0;
  return (uint32_t)v;
}

void continue_children() {
  g_nkids = 0;
  size_t n = sys::read_file("/proc/self/status", g_buf, sizeof g_buf - 1);
  g_buf[n] = 0;
  uint64_t shd = 0;
  sys::status_value(g_buf, "ShdPnd:", 16, &shd);
  g_sigchld_pending = (shd >> (SIGCHLD - 1)) & 1;
  int32_t kids[kMax];
  uint32_t nk = 0;
  char dents[4096];
  each_child(g_buf, sizeof g_buf, dents, sizeof dents, [&](int32_t kid) {
    kids[nk++] = kid;
    return nk < kMax;
  });
  for (uint32_t i = 0; i < nk; i++) {
    int32_t k = kids[i];
    if (state_of(k) != 'T' || !runs_agent(k)) continue;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    long r = sys::sc5(247 /*waitid*/, 1 /*P_PID*/, k, (long)&si, 2 /*WSTOPPED*/ | 1 /*WNOHANG*/ | 0x01000000 /*WNOWAIT*/, 0);
    g_kids[g_nkids++] = Child{pid::to_app(k), r == 0 && si.si_pid == k};
    park_threads(k);
    sys::kill(k, SIGCONT);
  }
}

namespace {
// Does a child's stop or continue raise SIGCHLD for us? Not under SIG_IGN, nor SA_NOCLDSTOP.
bool sigchld_reported() {
  struct { uint64_t handler, flags, restorer, mask; } ka{};
  if (sys::rt_sigaction(SIGCHLD, nullptr, &ka) < 0) return true;
  return ka.handler != (uint64_t)(uintptr_t)SIG_IGN && !(ka.flags & SA_NOCLDSTOP);
}

int64_t mono_ns() {
  sys::ktimespec ts{};
  sys::clock_gettime(1, &ts);
  return ts.sec * 1000000000ll + ts.nsec;
}

bool ours(int32_t pid) {
  for (uint32_t i = 0; i < g_nkids; i++)
    if (pid::to_real(g_kids[i].app_pid) == pid) return true;
  return false;
}

// Takes the SIGCHLDs pending for the process (the checkpoint thread blocks every signal, every
// other thread is parked: nothing else takes them), until `stops` of them said one of ours
// stopped or `until` passed. One another child raised meanwhile is kept to be queued again.
void drain_sigchld(uint32_t stops, int64_t until, siginfo_t* other, bool* have_other) {
  uint64_t chld = 1ull << (SIGCHLD - 1);
  uint32_t seen = 0;
  for (;;) {
    int64_t left = until - mono_ns();
    if (left < 0) left = 0;
    sys::ktimespec ts{left / 1000000000, left % 1000000000};
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (sys::sc4(128 /*rt_sigtimedwait*/, (long)&chld, (long)&si, (long)&ts, 8) != SIGCHLD) return;
    if ((si.si_code == CLD_STOPPED || si.si_code == CLD_CONTINUED) && ours(si.si_pid)) {
      if (si.si_code == CLD_STOPPED && ++seen >= stops) return;
    } else if (!*have_other) {
      *other = si;
      *have_other = true;
    }
  }
}
}  // namespace

uint32_t continued() { return g_nkids; }

void absorb() {
  if (!g_nkids) return;
  // The children answer `resumed` before they stop, and stop as they take the same `resume`: we
  // wait for each one's stop report, which the kernel shows only once every thread of it has
  // stopped (the state letter of /proc/PID/stat is the main thread's alone). Our own `resumed`
  // then says the whole computation is as it was: a checkpoint right after finds them stopped.
  int64_t deadline = mono_ns() + 5000000000ll;
  uint32_t stopped_again = 0;
  for (uint32_t i = 0; i < g_nkids; i++) {
    int32_t k = pid::to_real(g_kids[i].app_pid);
    for (;;) {
      siginfo_t si;
      memset(&si, 0, sizeof si);
      long r = sys::sc5(247 /*waitid*/, 1 /*P_PID*/, k, (long)&si, 2 /*WSTOPPED*/ | 1 /*WNOHANG*/ | 0x01000000 /*WNOWAIT*/, 0);
      if (r < 0) break;  // gone (killed meanwhile)
      if (si.si_pid == k) {
        stopped_again++;
        break;
      }
      char s = state_of(k);
      if (s == 0 || s == 'Z' || s == 'X') break;
      if (mono_ns() > deadline) {
        static const char msg[] = "amber: warning: a child continued for the checkpoint did not stop again within 5 s\n";
        sys::write_all(2, msg, sizeof msg - 1);
        break;
      }
      sys::ktimespec nap{0, 1000000};
      sys::nanosleep(&nap, nullptr);
    }
    // A report the program had read before is read again here: it sees none it had not seen. One
    // it had not read is there for it (with SIGSTOP as the stop signal: see the limits above).
    if (!g_kids[i].report_unread) {
      siginfo_t si;
      memset(&si, 0, sizeof si);
      sys::sc5(247 /*waitid*/, 1 /*P_PID*/, k, (long)&si, 2 /*WSTOPPED*/ | 1 /*WNOHANG*/, 0);
    }
  }
  // The SIGCHLDs the continue and the stop raised. Ones pending for the program before were taken
  // by its main thread as it parked and are queued again at the release; one left in the
  // process's set (no main thread to take it) absorbs ours, as a standard signal does.
  if (!g_sigchld_pending) {
    siginfo_t other;
    bool have_other = false;
    // A child's stop report comes a moment before its SIGCHLD (the kernel sends it once the last
    // thread stopped): wait for those briefly; the continues' were raised before they suspended.
    uint32_t want = sigchld_reported() ? stopped_again : 0;
    drain_sigchld(want, want ? mono_ns() + 200000000ll : 0, &other, &have_other);
    if (have_other) {
      // Another child's SIGCHLD (it exited meanwhile): the program must see it. To ourselves,
      // with its own siginfo (the kernel allows any si_code for a process's own signals).
      sys::sc3(129 /*rt_sigqueueinfo*/, sys::getpid(), SIGCHLD, (long)&other);
    }
  }
  g_nkids = 0;
}
}  // namespace stopped
}  // namespace amber
