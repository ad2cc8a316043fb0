// Per-thread kernel settings a parked thread keeps on its own stack across a restart (agent only):
// its CPU affinity, its TSC mode (PR_SET_TSC) and its CPU time (pid/clock.cc). Like the robust list (mutex.agent.cc) they need
// no record in the image: the suspend handler reads them into a ThreadKeep in its frame, the frame
// is saved with the stack, and a restored thread sets them again on itself before it is released.
//
// Affinity is set again only when the thread had been pinned (its mask is not every CPU online at
// the checkpoint): an unpinned thread keeps the restart's own, so a job restarted on a node with
// other CPUs is not squeezed onto the old numbers. A mask this machine refuses (none of its CPUs
// allowed here: another node, another cpuset) is said on stderr, and the thread keeps the
// restart's mask.
#include <errno.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "sys/sys.h"

namespace amber {
namespace {
constexpr long NR_sched_setaffinity = 203, NR_sched_getaffinity = 204;
uint64_t g_online[16];  // the CPUs online, read once per checkpoint (keep_begin), not per thread
bool g_online_ok;

// The CPUs online now, as a mask of `bytes` bytes (from /sys: no allocation, no libc).
bool online_mask(uint64_t* out, uint32_t bytes) {
  __builtin_memset(out, 0, bytes);
  char buf[512];
  long fd = sys::open("/sys/devices/system/cpu/online", 0 /*O_RDONLY*/ | 02000000 /*O_CLOEXEC*/, 0);
  if (fd < 0) return false;
  long n = sys::read((int)fd, buf, sizeof buf - 1);
  sys::close((int)fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* p = buf;
  while (*p >= '0' && *p <= '9') {  // "0-3,8,10-11\n"
    uint64_t a = sys::parse_u(&p, 10), b = a;
    if (*p == '-') { p++; b = sys::parse_u(&p, 10); }
    for (uint64_t c = a; c <= b && c < (uint64_t)bytes * 8; c++) out[c / 64] |= 1ull << (c % 64);
    if (*p == ',') p++;
  }
  return true;
}
}  // namespace

void keep_begin() { g_online_ok = online_mask(g_online, sizeof g_online); }

void keep_take(ThreadKeep* k) {
  static_assert(sizeof g_online == sizeof k->cpus, "one mask size");
  k->pinned = false;
  long n = sys::sc3(NR_sched_getaffinity, 0, sizeof k->cpus, (long)k->cpus);
  if (n > 0 && g_online_ok)
    for (uint32_t i = 0; i < sizeof k->cpus / 8 && !k->pinned; i++)
      k->pinned = (k->cpus[i] & g_online[i]) != g_online[i] || (k->cpus[i] & ~g_online[i]);
  k->tsc = 0;
  sys::prctl(25 /*PR_GET_TSC*/, (long)&k->tsc, 0, 0, 0);
  k->cpu_ns = pid::thread_cpu_now();
}

void keep_restored(const ThreadKeep* k) {
  if (k->pinned) {
    long r = sys::sc3(NR_sched_setaffinity, 0, sizeof k->cpus, (long)k->cpus);
    if (r < 0) {
      char msg[160];
      sys::Out(msg, sizeof msg).s("amber: warning: thread ").i(sys::gettid()).s(": its CPU affinity names no CPU allowed here (errno ").i(-r).s("): it keeps the restart's\n");
      sys::write_all(2, msg, sys::slen(msg));
    }
  }
  if (k->tsc == 2 /*PR_TSC_SIGSEGV*/) sys::prctl(26 /*PR_SET_TSC*/, 2, 0, 0, 0);
  pid::thread_cpu_restored(k->cpu_ns);  // its CPU clock goes on from where it was (pid/clock.cc)
}
}  // namespace amber
