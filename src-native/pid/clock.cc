// CPU-time clocks hold a pid: clock_getcpuclockid(pid) is ((~pid) << 3) | CPUCLOCK_SCHED, a
// thread's (pthread_getcpuclockid) ((~tid) << 3) | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED. The
// clockids the application holds encode its ids (app pids, app tids), like every pid it sees; the
// calls that take a clock id get it with this run's kernel id: clock_gettime, clock_getres,
// clock_nanosleep, clock_settime, timer_create (proc/sigev.agent.cc). Without this, a clockid
// obtained before a restart names a pid that is no longer ours (EINVAL), and
// clock_getcpuclockid(getpid()) after a restart asks the kernel about the app pid (ESRCH).
//
// The fast path is one comparison: the ordinary clocks are non-negative. Negative ids whose low
// two bits are 3 are descriptor clocks (FD_TO_CLOCKID, /dev/ptp*): left alone.
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "sys/sys.h"

namespace amber {
namespace pid {
namespace {

constexpr int32_t kPerThread = 4, kFdClock = 3;

bool is_cpuclock(int32_t clk) { return clk < 0 && (clk & 3) != kFdClock; }

int32_t make(int32_t id, int32_t low) { return (int32_t)(((uint32_t)~id) << 3) | low; }

int32_t id_of(int32_t clk) { return ~(clk >> 3); }

}  // namespace

// The next definitions, resolved in the constructor (dlsym is not async-signal-safe, and
// clock_gettime is called from signal handlers); resolved on first use only if a constructor
// that ran before ours calls one.
enum Fn { k_clock_gettime, k_clock_getres, k_clock_settime, k_clock_nanosleep, k_clock_getcpuclockid, k_pthread_getcpuclockid, kFns };
const char* const kNames[kFns] = {"clock_gettime", "clock_getres", "clock_settime", "clock_nanosleep", "clock_getcpuclockid",
                                  "pthread_getcpuclockid"};
void* g_fn[kFns];

void* resolve(Fn i) {
  void* f = __atomic_load_n(&g_fn[i], __ATOMIC_ACQUIRE);
  if (!f) {
    f = dlsym(RTLD_NEXT, kNames[i]);
    __atomic_store_n(&g_fn[i], f, __ATOMIC_RELEASE);
  }
  return f;
}

__attribute__((constructor)) void clock_init() {
  for (int i = 0; i < kFns; i++) resolve(static_cast<Fn>(i));
}

int32_t clock_to_real(int32_t clk) {
  if (!is_cpuclock(clk)) return clk;
  int32_t id = id_of(clk);
  if (id <= 0) return clk;  // 0: the calling process or thread
  int32_t real = (clk & kPerThread) ? to_real_tid(id) : to_real(id);
  return make(real, clk & 7);
}

int32_t clock_to_app(int32_t clk) {
  if (!is_cpuclock(clk)) return clk;
  int32_t id = id_of(clk);
  if (id <= 0) return clk;
  int32_t app = (clk & kPerThread) ? to_app_tid(id) : to_app(id);
  return make(app, clk & 7);
}

}  // namespace pid
}  // namespace amber

using amber::pid::clock_to_app;
using amber::pid::clock_to_real;

extern "C" {

__attribute__((visibility("default"))) int clock_gettime(clockid_t clk, struct timespec* ts) {
  using F = int (*)(clockid_t, struct timespec*);
  F f = reinterpret_cast<F>(amber::pid::resolve(amber::pid::k_clock_gettime));
  return f(clock_to_real(clk), ts);
}

__attribute__((visibility("default"))) int clock_getres(clockid_t clk, struct timespec* ts) {
  using F = int (*)(clockid_t, struct timespec*);
  F f = reinterpret_cast<F>(amber::pid::resolve(amber::pid::k_clock_getres));
  return f(clock_to_real(clk), ts);
}

__attribute__((visibility("default"))) int clock_settime(clockid_t clk, const struct timespec* ts) {
  using F = int (*)(clockid_t, const struct timespec*);
  F f = reinterpret_cast<F>(amber::pid::resolve(amber::pid::k_clock_settime));
  return f(clock_to_real(clk), ts);
}

__attribute__((visibility("default"))) int clock_nanosleep(clockid_t clk, int flags, const struct timespec* req, struct timespec* rem) {
  using F = int (*)(clockid_t, int, const struct timespec*, struct timespec*);
  F f = reinterpret_cast<F>(amber::pid::resolve(amber::pid::k_clock_nanosleep));
  return f(clock_to_real(clk), flags, req, rem);
}

// glibc builds the clock id from the pid it is given and asks the kernel about it: the kernel
// must hear this run's pid, the application gets the id of the pid it gave.
__attribute__((visibility("default"))) int clock_getcpuclockid(pid_t pid, clockid_t* out) {
  using F = int (*)(pid_t, clockid_t*);
  F f = reinterpret_cast<F>(amber::pid::resolve(amber::pid::k_clock_getcpuclockid));
  clockid_t c;
  int r = f(pid > 0 ? amber::pid::to_real(pid) : pid, &c);
  if (r == 0) *out = clock_to_app(c);
  return r;
}

// glibc encodes the thread's kernel tid (its cached one): the application gets its app tid.
__attribute__((visibility("default"))) int pthread_getcpuclockid(pthread_t th, clockid_t* out) {
  using F = int (*)(pthread_t, clockid_t*);
  F f = reinterpret_cast<F>(amber::pid::resolve(amber::pid::k_pthread_getcpuclockid));
  clockid_t c;
  int r = f(th, &c);
  if (r == 0) *out = clock_to_app(c);
  return r;
}

}  // extern "C"
