// RLIMIT_FSIZE and the image writer (agent only).
//
// The agent writes its image from inside the process, so the kernel holds the write to the
// application's RLIMIT_FSIZE (generic_write_checks: every write at an offset past the limit fails
// with EFBIG and raises SIGXFSZ). Around the write the soft limit is raised to the hard one
// (raise_for_write / after_write) — but a program that also lowered its hard limit (a sandbox:
// setrlimit(RLIMIT_FSIZE, {64K, 64K})) could then never be checkpointed, and nothing unprivileged
// raises a hard limit again. So the hard limit of RLIMIT_FSIZE is kept virtual: when the program
// lowers it through getrlimit/setrlimit/prlimit (libc or syscall(2)), the kernel's hard limit stays
// where it was, the soft limit (the one the kernel enforces) is the program's, and every call of
// the program reads and checks against the hard limit it set (EPERM raising it without
// CAP_SYS_RESOURCE, EINVAL for soft above hard), as the kernel would. The virtual value lives in
// the agent's memory (saved with it, inherited by fork) and in AMBER_FSIZE_MAX across exec. The
// image records the kernel's limits (the restorer sets them) with the program's soft limit.
// A hard limit lowered before launch is real: a checkpoint larger than it fails, naming it.
#include <errno.h>
#include <stdlib.h>

#include "agent/agent.h"
#include "proc/rlimit.h"
#include "sys/sys.h"
#include "sys/usermem.h"

namespace amber {
namespace rlim {
namespace {
constexpr int kFsize = 1;  // RLIMIT_FSIZE
bool g_virtual;            // the program's hard limit is g_max, below the kernel's
uint64_t g_max;
bool g_raised;             // raise_for_write changed the soft limit: g_app_cur is the program's
uint64_t g_app_cur;

bool cap_sys_resource() {
  struct { uint32_t version; int32_t pid; } h = {0x20080522 /*_LINUX_CAPABILITY_VERSION_3*/, 0};
  struct { uint32_t eff, perm, inh; } d[2] = {};
  if (sys::sc2(125 /*capget*/, (long)&h, (long)d) < 0) return false;
  return (d[0].eff >> 24) & 1;  // CAP_SYS_RESOURCE
}

// A kernel pid naming this process (0, our pid, or one of our threads).
bool self(long kpid) {
  if (kpid == 0) return true;
  long me = sys::getpid();
  return kpid == me || (kpid > 0 && sys::tgkill((int)me, (int)kpid, 0) == 0);
}
}  // namespace

long prlimit(long kpid, int res, const void* nl, void* ol) {
  if (res != kFsize || !self(kpid)) return sys::prlimit((int)kpid, res, nl, ol);
  uint64_t k[2];
  long r = sys::prlimit(0, kFsize, nullptr, k);
  if (r < 0) return r;
  if (g_raised) k[0] = g_app_cur;  // (a checkpoint is writing: not reachable by the program)
  uint64_t vmax = g_virtual ? g_max : k[1];
  if (nl) {
    uint64_t want[2];
    if (sys::vm_read(want, nl, sizeof want) != (long)sizeof want) return -EFAULT;
    if (want[0] > want[1]) return -EINVAL;
    if (want[1] > vmax && !cap_sys_resource()) return -EPERM;
    if (want[1] > k[1]) {
      r = sys::prlimit(0, kFsize, want, nullptr);  // privileged, above the kernel's: real
      if (r < 0) return r;
      g_virtual = false;
    } else {
      uint64_t kk[2] = {want[0], k[1]};
      r = sys::prlimit(0, kFsize, kk, nullptr);
      if (r < 0) return r;
      g_max = want[1];
      g_virtual = want[1] < k[1];
    }
  }
  if (ol) {
    uint64_t o[2] = {k[0], vmax};
    if (sys::vm_write(ol, o, sizeof o) != (long)sizeof o) return -EFAULT;
  }
  return 0;
}

void init() {
  // From the program we replaced (exec): its hard limit, when below the kernel's.
  const char* s = getenv("AMBER_FSIZE_MAX");
  if (!s || !*s) return;
  const char* q = s;
  uint64_t v = sys::parse_u(&q, 10);
  uint64_t k[2];
  if (*q || sys::prlimit(0, kFsize, nullptr, k) < 0 || v >= k[1]) return;
  g_max = v;
  g_virtual = true;
}

bool virtual_max(uint64_t* v) {
  if (!g_virtual) return false;
  *v = g_max;
  return true;
}

void raise_for_write() {
  uint64_t k[2];
  g_raised = false;
  if (sys::prlimit(0, kFsize, nullptr, k) < 0 || k[0] >= k[1]) return;
  g_app_cur = k[0];
  uint64_t up[2] = {k[1], k[1]};
  if (sys::prlimit(0, kFsize, up, nullptr) == 0) g_raised = true;
}

void after_write(bool efbig) {
  if (g_raised) {
    uint64_t k[2];
    if (sys::prlimit(0, kFsize, nullptr, k) == 0) {
      k[0] = g_app_cur;
      sys::prlimit(0, kFsize, k, nullptr);
    }
    g_raised = false;
  }
  if (!efbig) return;
  // The kernel raised SIGXFSZ at this (checkpoint) thread, which blocks it: take it back, so that
  // it is not pending for ever (nor in a later image). Only a signal pending on this thread itself
  // (the program's own, process-wide, stay).
  char st[4096];
  size_t n = sys::read_file("/proc/thread-self/status", st, sizeof st - 1);
  st[n] = 0;
  for (const char* p = st; *p; p++) {
    if (!sys::sstarts(p, "SigPnd:\t")) continue;
    p += 8;
    uint64_t pend = sys::parse_u(&p, 16);
    if (pend & (1ull << (25 /*SIGXFSZ*/ - 1))) {
      uint64_t set = 1ull << (25 - 1);
      sys::ktimespec zero{0, 0};
      sys::sc4(128 /*rt_sigtimedwait*/, (long)&set, 0, (long)&zero, 8);
    }
    break;
  }
}

bool app_limits(uint64_t v[2]) {
  if (!g_raised) return false;
  uint64_t k[2];
  if (sys::prlimit(0, kFsize, nullptr, k) < 0) return false;
  v[0] = g_app_cur;
  v[1] = k[1];
  return true;
}
}  // namespace rlim
}  // namespace amber

// The libc entry points that do not go through prlimit's PLT entry (glibc issues prlimit64
// itself). prlimit/prlimit64 and syscall(SYS_prlimit64) are in pid/calls.cc (pid translation),
// which calls rlim::prlimit.
extern "C" {
namespace {
inline int ret(long r) {
  if (r < 0) { errno = (int)-r; return -1; }
  return (int)r;
}
}  // namespace

__attribute__((visibility("default"))) int getrlimit(int res, void* rl) {
  return ret(amber::rlim::prlimit(0, res, nullptr, rl));
}
__attribute__((visibility("default"))) int getrlimit64(int res, void* rl) {
  return ret(amber::rlim::prlimit(0, res, nullptr, rl));
}
__attribute__((visibility("default"))) int setrlimit(int res, const void* rl) {
  return ret(amber::rlim::prlimit(0, res, rl, nullptr));
}
__attribute__((visibility("default"))) int setrlimit64(int res, const void* rl) {
  return ret(amber::rlim::prlimit(0, res, rl, nullptr));
}
}  // extern "C"
