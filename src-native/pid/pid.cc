// Pid virtualization: the application only ever sees the pids its processes had when they were
// first launched ("app pids"), before and after any number of restarts. Until the first restart
// app pid == kernel pid and the map is empty, so every wrapper is a pass-through. At restart the
// coordinator sends the map of the whole computation (`pidmap APP:REAL,...`, docs/PROTOCOL.md)
// before it resumes the processes; the wrappers translate in both directions.
//
// Thread ids are not virtualized: glibc caches the kernel tid in struct pthread and the restorer
// writes the new tid there (PITFALLS 2), so pthread_kill/pthread_join stay consistent.
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "sys/sys.h"

namespace amber {
namespace pid {
namespace {

struct Entry {
  int32_t app, real;
};
constexpr uint32_t kMax = 8192;
Entry g_map[kMax];
volatile uint32_t g_n;

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

void set_map(const char* s) {
  // Runs on the checkpoint thread while the application's threads are parked: no allocation.
  uint32_t n = 0;
  while (*s && n < kMax) {
    const char* p = s;
    int32_t a = (int32_t)sys::parse_u(&p, 10);
    if (*p != ':') break;
    p++;
    int32_t r = (int32_t)sys::parse_u(&p, 10);
    g_map[n++] = Entry{a, r};
    s = *p == ',' ? p + 1 : p;
  }
  __atomic_store_n(&g_n, n, __ATOMIC_RELEASE);
}

int32_t to_real(int32_t app) {
  uint32_t n = __atomic_load_n(&g_n, __ATOMIC_ACQUIRE);
  if (!n || app == 0 || app == -1) return app;
  int32_t mag = app < 0 ? -app : app;  // a negative pid names a process group by its leader
  for (uint32_t i = 0; i < n; i++)
    if (g_map[i].app == mag) return app < 0 ? -g_map[i].real : g_map[i].real;
  return app;
}

int32_t to_app(int32_t real) {
  uint32_t n = __atomic_load_n(&g_n, __ATOMIC_ACQUIRE);
  if (!n || real <= 0) return real;
  for (uint32_t i = 0; i < n; i++)
    if (g_map[i].real == real) return g_map[i].app;
  return real;
}

}  // namespace pid
}  // namespace amber

using amber::pid::to_app;
using amber::pid::to_real;

extern "C" {

__attribute__((visibility("default"))) pid_t getpid(void) { return to_app((int32_t)sys::getpid()); }

__attribute__((visibility("default"))) pid_t getppid(void) {
  int32_t real = (int32_t)sys::getppid();
  // Still the child of whatever restored us (for a root process: the restart command, standing in
  // for the original launcher, which is not part of the computation): the parent it always had.
  if (amber::g.restart_ppid && real == amber::g.restart_ppid) return amber::g.app_ppid;
  return to_app(real);
}

// The main thread's tid is the process's pid; other threads' tids are the kernel's (see top).
__attribute__((visibility("default"))) pid_t gettid(void) {
  int32_t tid = (int32_t)sys::gettid();
  return tid == (int32_t)sys::getpid() ? to_app(tid) : tid;
}

__attribute__((visibility("default"))) int kill(pid_t pid, int sig) {
  using F = int (*)(pid_t, int);
  static F f = amber::pid::next<F>("kill");
  return f(to_real(pid), sig);
}

__attribute__((visibility("default"))) pid_t waitpid(pid_t pid, int* status, int options) {
  using F = pid_t (*)(pid_t, int*, int);
  static F f = amber::pid::next<F>("waitpid");
  return to_app(f(to_real(pid), status, options));
}

__attribute__((visibility("default"))) pid_t wait(int* status) {
  using F = pid_t (*)(int*);
  static F f = amber::pid::next<F>("wait");
  return to_app(f(status));
}

__attribute__((visibility("default"))) pid_t wait4(pid_t pid, int* status, int options, struct rusage* ru) {
  using F = pid_t (*)(pid_t, int*, int, struct rusage*);
  static F f = amber::pid::next<F>("wait4");
  return to_app(f(to_real(pid), status, options, ru));
}

__attribute__((visibility("default"))) int waitid(idtype_t idtype, id_t id, siginfo_t* info, int options) {
  using F = int (*)(idtype_t, id_t, siginfo_t*, int);
  static F f = amber::pid::next<F>("waitid");
  if (idtype == P_PID || idtype == P_PGID) id = (id_t)to_real((int32_t)id);
  int r = f(idtype, id, info, options);
  if (r == 0 && info && info->si_pid) info->si_pid = to_app(info->si_pid);
  return r;
}

}  // extern "C"
