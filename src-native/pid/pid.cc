// Pid virtualization: the application only ever sees the pids its processes had when they were
// first launched ("app pids"), before and after any number of restarts. Until the first restart
// app pid == kernel pid and the map is empty, so every wrapper is a pass-through. At restart the
// coordinator sends the map of the whole computation (`pidmap APP:REAL,...`, docs/PROTOCOL.md)
// before it resumes the processes; the wrappers translate in both directions.
//
// Thread ids are virtualized the same way (gettid, tgkill, tkill, /proc/<pid>/task/<tid>): a
// thread's app tid is the kernel tid it had when it was created; after a restart the tid map
// (built from the image's thread table and the restorer's new tids) translates. glibc's own cached
// tid in struct pthread stays the kernel tid (the restorer writes the new one there, PITFALLS 2),
// so pthread_kill/pthread_join, which never pass through these wrappers, stay consistent.
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

// This process's threads (AMBER_MAX_THREADS: every thread the image can hold).
Entry g_tids[AMBER_MAX_THREADS];
volatile uint32_t g_tn;
// Kernel pid of the incarnation the tid map was adopted for: makes adopt_restored_tids idempotent
// (a restart always runs under a new kernel pid; this .bss value comes back from the image).
int32_t g_tids_pid;

int32_t lookup_real(const Entry* m, uint32_t n, int32_t app) {
  for (uint32_t i = 0; i < n; i++)
    if (m[i].app == app) return m[i].real;
  return 0;
}
int32_t lookup_app(const Entry* m, uint32_t n, int32_t real) {
  for (uint32_t i = 0; i < n; i++)
    if (m[i].real == real) return m[i].app;
  return 0;
}

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

uint32_t g_map_version;
uint32_t map_version() { return __atomic_load_n(&g_map_version, __ATOMIC_ACQUIRE); }

void set_map(const char* s) {
  // Runs on the checkpoint thread while the application's threads are parked: no allocation.
  // The tid map must be taken before the pid map changes: it translates the checkpoint's kernel
  // tids through the maps of the checkpointed run (a no-op if the restart path already did it).
  if (amber::g.after_restart) adopt_restored_tids();
  __atomic_store_n(&g_n, 0u, __ATOMIC_RELEASE);
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
  __atomic_add_fetch(&g_map_version, 1u, __ATOMIC_RELEASE);
}

int32_t to_real(int32_t app) {
  uint32_t n = __atomic_load_n(&g_n, __ATOMIC_ACQUIRE);
  if (!n || app == 0 || app == -1) return app;
  int32_t mag = app < 0 ? -app : app;  // a negative pid names a process group by its leader
  for (uint32_t i = 0; i < n; i++)
    if (g_map[i].app == mag) return app < 0 ? -g_map[i].real : g_map[i].real;
  // An unreaped child made again at the restart (it runs no agent: not in the computation's map).
  if (int32_t z = zombie_real(mag)) return app < 0 ? -z : z;
  return app;
}

int32_t to_app(int32_t real) {
  uint32_t n = __atomic_load_n(&g_n, __ATOMIC_ACQUIRE);
  if (!n || real <= 0) return real;
  for (uint32_t i = 0; i < n; i++)
    if (g_map[i].real == real) return g_map[i].app;
  if (int32_t z = zombie_app(real)) return z;
  return real;
}

void set_tid_map(const int32_t* app, const int32_t* real, uint32_t n) {
  __atomic_store_n(&g_tn, 0u, __ATOMIC_RELEASE);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n && k < AMBER_MAX_THREADS; i++)
    if (app[i] > 0 && real[i] > 0) g_tids[k++] = Entry{app[i], real[i]};
  __atomic_store_n(&g_tn, k, __ATOMIC_RELEASE);
  __atomic_add_fetch(&g_map_version, 1u, __ATOMIC_RELEASE);
}

void adopt_restored_tids() {
  int32_t self = (int32_t)sys::getpid();
  if (g_tids_pid == self) return;
  static int32_t app[AMBER_MAX_THREADS], real[AMBER_MAX_THREADS];  // .bss: no allocation
  uint32_t n = g.nslots < AMBER_MAX_THREADS ? g.nslots : AMBER_MAX_THREADS;
  for (uint32_t i = 0; i < n; i++) {
    const amber_thread& r = g_slots[i].rec;
    // The main thread is its process: its app tid is the app pid whatever the maps say.
    app[i] = (r.flags & AMBER_THR_MAIN) ? g.app_pid : to_app_tid(r.tid);
    real[i] = g_handoff.new_tids[i];
  }
  // The main thread had ended (AMBER_PROC_MAIN_EXITED): no slot is it, but its zombie is still
  // listed under the process's id (/proc/self/task/<app pid>).
  bool main = false;
  for (uint32_t i = 0; i < n; i++) main |= (g_slots[i].rec.flags & AMBER_THR_MAIN) != 0;
  if (!main && n < AMBER_MAX_THREADS) {
    app[n] = g.app_pid;
    real[n] = self;
    n++;
  }
  set_tid_map(app, real, n);
  g_tids_pid = self;
}

// The coordinator puts every process's moved threads into the computation's pid map, so that a
// process names another's threads by the ids it learnt (tgkill of a child's thread, its
// /proc/<pid>/task/<tid>, sched_* and getpriority of it): "APP:REAL" pairs of this process's
// threads other than the main one whose ids differ, from pair *i on, as many as fit in out.
size_t moved_tids(uint32_t* i, char* out, size_t cap) {
  uint32_t n = __atomic_load_n(&g_tn, __ATOMIC_ACQUIRE);
  sys::Out o(out, cap);
  for (; *i < n; ++*i) {
    const Entry& e = g_tids[*i];
    if (e.app == e.real || e.app == amber::g.app_pid) continue;  // the main thread is its process
    if (o.len + 24 >= cap) break;
    if (o.len) o.c(',');
    o.i(e.app).c(':').i(e.real);
  }
  return o.len;
}

int32_t to_real_tid(int32_t app) {
  uint32_t n = __atomic_load_n(&g_tn, __ATOMIC_ACQUIRE);
  if (n && app > 0) {
    int32_t r = lookup_real(g_tids, n, app);
    if (r) return r;
  }
  return to_real(app);
}

int32_t to_app_tid(int32_t real) {
  uint32_t n = __atomic_load_n(&g_tn, __ATOMIC_ACQUIRE);
  if (n && real > 0) {
    int32_t a = lookup_app(g_tids, n, real);
    if (a) return a;
  }
  return to_app(real);
}

bool active() {
  return (__atomic_load_n(&g_n, __ATOMIC_RELAXED) | __atomic_load_n(&g_tn, __ATOMIC_RELAXED)) != 0;
}

__thread uint32_t t_in_wait __attribute__((tls_model("initial-exec")));

int32_t app_getpid() { return to_app((int32_t)sys::getpid()); }

int32_t app_getppid() {
  int32_t real = (int32_t)sys::getppid();
  // Still the child of whatever restored us (for a root process: the restart command, standing in
  // for the original launcher, which is not part of the computation): the parent it always had.
  if (amber::g.restart_ppid && real == amber::g.restart_ppid) return amber::g.app_ppid;
  return to_app(real);
}

int32_t app_gettid() { return to_app_tid((int32_t)sys::gettid()); }

}  // namespace pid
}  // namespace amber

using amber::pid::to_app;
using amber::pid::to_real;

namespace {
// A wait's result, once any child the kernel has reaped for us is really gone (after ECHILD).
template <class T>
T settled(T r) {
  if (r < 0 && errno == ECHILD) amber::echild_settle();
  return r;
}
}  // namespace

extern "C" {

__attribute__((visibility("default"))) pid_t getpid(void) { return amber::pid::app_getpid(); }

__attribute__((visibility("default"))) pid_t getppid(void) { return amber::pid::app_getppid(); }

__attribute__((visibility("default"))) pid_t gettid(void) { return amber::pid::app_gettid(); }

__attribute__((visibility("default"))) int kill(pid_t pid, int sig) {
  using F = int (*)(pid_t, int);
  static F f = amber::pid::next<F>("kill");
  return amber::pid::with_fresh_ids([&] { return f(amber::pid::to_real_tid(pid), sig); });  // the kernel takes a tid here too
}

// killpg: glibc's calls kill inside libc, past the kill wrapper above.
__attribute__((visibility("default"))) int killpg(pid_t pgrp, int sig) {
  using F = int (*)(pid_t, int);
  static F f = amber::pid::next<F>("killpg");
  return amber::pid::with_fresh_ids([&] { return f(pgrp > 0 ? to_real(pgrp) : pgrp, sig); });
}

__attribute__((visibility("default"))) pid_t waitpid(pid_t pid, int* status, int options) {
  using F = pid_t (*)(pid_t, int*, int);
  static F f = amber::pid::next<F>("waitpid");
  amber::pid::WaitScope in;
  return settled(to_app(amber::pid::with_fresh_ids([&] { return f(to_real(pid), status, options); })));
}

__attribute__((visibility("default"))) pid_t wait(int* status) {
  using F = pid_t (*)(int*);
  static F f = amber::pid::next<F>("wait");
  amber::pid::WaitScope in;
  return settled(to_app(f(status)));
}

// wait3: what dash (Debian's /bin/sh) reaps its jobs with; glibc's calls wait4 inside libc, past
// the wait4 wrapper below.
__attribute__((visibility("default"))) pid_t wait3(int* status, int options, struct rusage* ru) {
  using F = pid_t (*)(int*, int, struct rusage*);
  static F f = amber::pid::next<F>("wait3");
  amber::pid::WaitScope in;
  return settled(to_app(f(status, options, ru)));
}

__attribute__((visibility("default"))) pid_t wait4(pid_t pid, int* status, int options, struct rusage* ru) {
  using F = pid_t (*)(pid_t, int*, int, struct rusage*);
  static F f = amber::pid::next<F>("wait4");
  amber::pid::WaitScope in;
  return settled(to_app(amber::pid::with_fresh_ids([&] { return f(to_real(pid), status, options, ru); })));
}

__attribute__((visibility("default"))) int waitid(idtype_t idtype, id_t id, siginfo_t* info, int options) {
  using F = int (*)(idtype_t, id_t, siginfo_t*, int);
  static F f = amber::pid::next<F>("waitid");
  amber::pid::WaitScope in;
  int r = amber::pid::with_fresh_ids([&] {
    return f(idtype, idtype == P_PID || idtype == P_PGID ? (id_t)to_real((int32_t)id) : id, info, options);
  });
  if (r == 0 && info && info->si_pid) info->si_pid = to_app(info->si_pid);
  return settled(r);
}

}  // extern "C"
