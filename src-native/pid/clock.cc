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
//
// CPU time never goes back for the program: a restored process is a new kernel process whose CPU
// clocks start near zero. The time read at the checkpoint (process, reaped children: by the
// checkpoint thread; each thread's own: by the thread in the suspend handler, kept on its stack)
// becomes an offset after a restart, added by clock_gettime (CLOCK_PROCESS_CPUTIME_ID,
// CLOCK_THREAD_CPUTIME_ID and the cpuclock ids of this process and the calling thread), clock(),
// getrusage and times(). A child forked since starts from zero, as the kernel's does. Not
// offset: another thread's clock read by id (pthread_getcpuclockid of a sibling), and the CPU
// times in /proc/<pid>/stat.
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/times.h>
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

// ---- CPU time across a restart (see the header) ----
int64_t g_proc_off, g_child_off;      // ns added after a restart (0 before: the fast path)
int64_t g_proc_saved, g_child_saved;  // what the program read at the last checkpoint
__thread int64_t t_thread_off __attribute__((tls_model("initial-exec")));

namespace {
int64_t raw_cpu(int clk) {
  sys::ktimespec ts{};
  sys::clock_gettime(clk, &ts);
  return ts.sec * 1000000000ll + ts.nsec;
}
int64_t children_ns() {
  struct rusage r{};
  sys::sc2(98 /*getrusage*/, RUSAGE_CHILDREN, (long)&r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000000ll + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1000ll;
}
// The offset that applies to clock clk read by the calling thread.
int64_t offset_of(int32_t clk) {
  if (clk == CLOCK_PROCESS_CPUTIME_ID) return g_proc_off;
  if (clk == CLOCK_THREAD_CPUTIME_ID) return t_thread_off;
  if (!is_cpuclock(clk)) return 0;
  int32_t id = id_of(clk);
  if (clk & kPerThread) return id == 0 || to_real_tid(id) == (int32_t)sys::gettid() ? t_thread_off : 0;
  return id == 0 || to_real(id) == (int32_t)sys::getpid() ? g_proc_off : 0;
}
}  // namespace

void cputime_checkpoint() {
  g_proc_saved = raw_cpu(CLOCK_PROCESS_CPUTIME_ID) + g_proc_off;
  g_child_saved = children_ns() + g_child_off;
}
void cputime_restarted() {
  g_proc_off = g_proc_saved - raw_cpu(CLOCK_PROCESS_CPUTIME_ID);
  g_child_off = g_child_saved - children_ns();
}
void cputime_forked() { g_proc_off = g_child_off = t_thread_off = 0; }
int64_t thread_cpu_now() { return raw_cpu(CLOCK_THREAD_CPUTIME_ID) + t_thread_off; }
void thread_cpu_restored(int64_t saved) { t_thread_off = saved - raw_cpu(CLOCK_THREAD_CPUTIME_ID); }
bool cputime_offset() { return g_proc_off || g_child_off || t_thread_off; }
int64_t cputime_off(int32_t clk) { return offset_of(clk); }

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
  int r = f(clock_to_real(clk), ts);
  if (__builtin_expect(amber::pid::cputime_offset(), 0) && r == 0) {
    int64_t off = amber::pid::cputime_off(clk);
    if (off) {
      int64_t ns = ts->tv_sec * 1000000000ll + ts->tv_nsec + off;
      if (ns < 0) ns = 0;
      ts->tv_sec = ns / 1000000000ll;
      ts->tv_nsec = ns % 1000000000ll;
    }
  }
  return r;
}

// glibc's clock() reads the process CPU clock through an internal call no wrapper sees.
__attribute__((visibility("default"))) clock_t clock(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return (clock_t)-1;
  return (clock_t)(ts.tv_sec * CLOCKS_PER_SEC + ts.tv_nsec / (1000000000l / CLOCKS_PER_SEC));
}

__attribute__((visibility("default"))) int getrusage(int who, struct rusage* ru) {
  long r = sys::sc2(98 /*getrusage*/, who, (long)ru);
  if (r < 0) {
    errno = (int)-r;
    return -1;
  }
  if (__builtin_expect(amber::pid::cputime_offset(), 0)) {
    int64_t off = who == RUSAGE_SELF ? amber::pid::g_proc_off : who == RUSAGE_CHILDREN ? amber::pid::g_child_off
                : who == RUSAGE_THREAD ? amber::pid::t_thread_off : 0;
    int64_t us = ru->ru_utime.tv_sec * 1000000ll + ru->ru_utime.tv_usec + off / 1000;  // (the split is not known: user time)
    if (us < 0) us = 0;
    ru->ru_utime.tv_sec = us / 1000000;
    ru->ru_utime.tv_usec = us % 1000000;
  }
  return 0;
}

__attribute__((visibility("default"))) clock_t times(struct tms* t) {
  long r = sys::sc1(100 /*times*/, (long)t);
  if (r < 0 && r > -4096) {
    errno = (int)-r;
    return (clock_t)-1;
  }
  if (t && __builtin_expect(amber::pid::cputime_offset(), 0)) {
    constexpr long hz = 100;  // USER_HZ: the kernel's unit for times() on every Linux
    t->tms_utime += (clock_t)(amber::pid::g_proc_off / (1000000000ll / hz));
    t->tms_cutime += (clock_t)(amber::pid::g_child_off / (1000000000ll / hz));
  }
  return (clock_t)r;
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
