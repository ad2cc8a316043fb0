// POSIX timers with SIGEV_THREAD notification, made by the agent instead of glibc.
//
// glibc runs a SIGEV_THREAD timer through a helper thread it creates with every signal blocked
// (pthread attributes set inside libc: no wrapper of ours sees it) that waits in sigwaitinfo for
// its internal SIGTIMER, and starts one thread per expiry with the same mask. Such a thread
// blocks the suspend signal: it never parks, and no checkpoint of the process can complete.
//
// So timer_create(SIGEV_THREAD) is done here, the same way, with threads the agent can stop: one
// helper thread per process, blocking every signal but the suspend signal, waits for SIGTIMER
// (glibc's reserved signal 32: the application cannot use it) from kernel timers aimed at it
// (SIGEV_THREAD_ID), and runs each expiry's callback in a new detached thread with the same mask
// (glibc's behaviour) and the attributes the application gave. The timer_t handed back is the
// kernel timer id, which glibc's timer_settime/gettime/getoverrun/delete take as they are.
//
// At a checkpoint these are ordinary kernel timers aimed at an ordinary thread: proc/timers.cc
// captures them (id, SIGEV_THREAD_ID target, signal 32, the pointer to the slot below as value)
// and recreates them aimed at the helper's new tid; the helper and the slots come back with
// memory. The helper's kernel tid is read from glibc's struct pthread (restored with the new tid,
// thread/thread.cc), never cached.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <time.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"

namespace amber {
namespace {

constexpr int kSigTimer = 32;    // glibc's SIGTIMER (== SIGCANCEL): reserved, never the application's
constexpr uint32_t kMax = 1024;  // SIGEV_THREAD timers alive at once in a process

struct TimerSlot {
  volatile uint32_t used;
  int32_t kid;  // kernel timer id
  void (*fn)(union sigval);
  union sigval val;
  bool has_attr;
  size_t stack, guard;
  int inherit, policy, scope;
  struct sched_param sp;
};
TimerSlot g_tt[kMax];  // .bss: saved with memory, the kernel timers' values point here

pthread_t g_helper;
volatile uint32_t g_helper_state;  // 0 none, 1 starting, 2 running

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

uint64_t all_but_ours() { return ~0ull & ~(g.sig ? 1ull << (g.sig - 1) : 0ull); }

struct Call {
  void (*fn)(union sigval);
  union sigval val;
};

void* callback_main(void* p) {
  Call c = *static_cast<Call*>(p);
  free(p);
  c.fn(c.val);
  return nullptr;
}

void run_expiry(TimerSlot* t) {
  Call* c = static_cast<Call*>(malloc(sizeof(Call)));
  if (!c) return;
  c->fn = t->fn;
  c->val = t->val;
  if (!c->fn) { free(c); return; }
  pthread_attr_t at;
  pthread_attr_init(&at);
  if (t->has_attr) {
    if (t->stack) pthread_attr_setstacksize(&at, t->stack);
    pthread_attr_setguardsize(&at, t->guard);
    pthread_attr_setinheritsched(&at, t->inherit);
    pthread_attr_setschedpolicy(&at, t->policy);
    pthread_attr_setschedparam(&at, &t->sp);
    pthread_attr_setscope(&at, t->scope);
  }
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  // The new thread inherits this thread's mask: every signal blocked but the suspend signal.
  if (pthread_create(&th, &at, callback_main, c) != 0) free(c);
  pthread_attr_destroy(&at);
}

void* helper_main(void*) {
  uint64_t mask = all_but_ours();
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &mask, nullptr);
  __atomic_store_n(&g_helper_state, 2u, __ATOMIC_RELEASE);
  sys::futex_wake(&g_helper_state, 0x7fffffff);
  uint64_t want = 1ull << (kSigTimer - 1);
  for (;;) {
    siginfo_t si;
    long r = sys::sc4(128 /*rt_sigtimedwait*/, (long)&want, (long)&si, 0, 8);
    if (r != kSigTimer || si.si_code != SI_TIMER) continue;
    TimerSlot* t = static_cast<TimerSlot*>(si.si_value.sival_ptr);
    if (t < g_tt || t >= g_tt + kMax || !__atomic_load_n(&t->used, __ATOMIC_ACQUIRE)) continue;
    run_expiry(t);
  }
  return nullptr;
}

bool ensure_helper() {
  uint32_t zero = 0;
  if (__atomic_compare_exchange_n(&g_helper_state, &zero, 1u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 128 * 1024);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&g_helper, &at, helper_main, nullptr);
    pthread_attr_destroy(&at);
    if (e != 0) {
      __atomic_store_n(&g_helper_state, 0u, __ATOMIC_RELEASE);
      sys::futex_wake(&g_helper_state, 0x7fffffff);
      return false;
    }
  }
  for (;;) {
    uint32_t s = __atomic_load_n(&g_helper_state, __ATOMIC_ACQUIRE);
    if (s == 2) return true;
    if (s == 0) return false;
    sys::futex_wait(&g_helper_state, s, nullptr);
  }
}

// The helper's kernel tid now (glibc's cached tid in its struct pthread: the restorer rewrites it).
int32_t helper_tid() {
  if (g.tid_off <= 0) return 0;
  return *reinterpret_cast<volatile int32_t*>(reinterpret_cast<char*>(g_helper) + g.tid_off);
}

// Fork: the child has neither the helper thread nor the kernel timers (timers are not inherited).
void after_fork_child() {
  if (!g_helper_state) return;  // never used: its pages stay untouched (and out of images)
  g_helper_state = 0;
  for (uint32_t i = 0; i < kMax; i++)
    if (g_tt[i].used) g_tt[i].used = 0;
}

__attribute__((constructor)) void sigev_init() { pthread_atfork(nullptr, nullptr, after_fork_child); }

}  // namespace
}  // namespace amber

using amber::g;

extern "C" {

__attribute__((visibility("default"))) int timer_create(clockid_t clk, struct sigevent* sev, timer_t* out) {
  using F = int (*)(clockid_t, struct sigevent*, timer_t*);
  static F real = amber::next<F>("timer_create");
  clk = (clockid_t)amber::pid::clock_to_real((int32_t)clk);  // a CPU clock of an app pid (pid/clock.cc)
  // The calling thread's CPU clock, named by its tid: the kernel keeps "the caller's" otherwise
  // (/proc/self/timers shows -2), and a restart would make the timer on whichever thread
  // restores it; by tid it comes back on this thread (proc/timers.cc cpu_clock_now).
  if (g.active && clk == CLOCK_THREAD_CPUTIME_ID) clk = (clockid_t)(((uint32_t)~(uint32_t)sys::gettid() << 3) | 6u);
  struct sigevent ev;
  if (!g.active || !sev || sys::vm_read(&ev, sev, sizeof ev) != (long)sizeof ev) return real(clk, sev, out);
  if (ev.sigev_notify == SIGEV_THREAD_ID) {
    // The thread is named by the id the program knows (gettid): after a restart the kernel's
    // differs. A copy carries the kernel's, so the program's struct is left as it was.
    ev._sigev_un._tid = amber::pid::to_real_tid(ev._sigev_un._tid);
    return real(clk, &ev, out);
  }
  if (ev.sigev_notify != SIGEV_THREAD) return real(clk, sev, out);
  if (!amber::ensure_helper()) {
    errno = EAGAIN;
    return -1;
  }
  amber::TimerSlot* t = nullptr;
  for (uint32_t i = 0; i < amber::kMax && !t; i++) {
    uint32_t zero = 0;
    if (__atomic_compare_exchange_n(&amber::g_tt[i].used, &zero, 1u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) t = &amber::g_tt[i];
  }
  if (!t) {
    errno = EAGAIN;
    return -1;
  }
  t->fn = ev.sigev_notify_function;
  t->val = ev.sigev_value;
  t->has_attr = ev.sigev_notify_attributes != nullptr;
  if (t->has_attr) {
    const pthread_attr_t* a = ev.sigev_notify_attributes;
    t->stack = 0;
    pthread_attr_getstacksize(a, &t->stack);
    pthread_attr_getguardsize(a, &t->guard);
    pthread_attr_getinheritsched(a, &t->inherit);
    pthread_attr_getschedpolicy(a, &t->policy);
    pthread_attr_getschedparam(a, &t->sp);
    pthread_attr_getscope(a, &t->scope);
  }
  struct {
    union sigval value;
    int32_t signo, notify;
    int32_t tid;
    int32_t pad[11];
  } k = {};
  k.value.sival_ptr = t;
  k.signo = amber::kSigTimer;
  k.notify = 4 /*SIGEV_THREAD_ID*/;
  k.tid = amber::helper_tid();
  int kid = -1;
  long r = sys::timer_create((int)clk, &k, &kid);
  if (r < 0) {
    __atomic_store_n(&t->used, 0u, __ATOMIC_RELEASE);
    errno = (int)-r;
    return -1;
  }
  t->kid = kid;
  if (out) *out = reinterpret_cast<timer_t>(static_cast<intptr_t>(kid));
  return 0;
}

__attribute__((visibility("default"))) int timer_delete(timer_t id) {
  using F = int (*)(timer_t);
  static F real = amber::next<F>("timer_delete");
  int r = real(id);
  intptr_t kid = reinterpret_cast<intptr_t>(id);
  if (r == 0 && kid >= 0) {
    for (uint32_t i = 0; i < amber::kMax; i++) {
      amber::TimerSlot& t = amber::g_tt[i];
      if (__atomic_load_n(&t.used, __ATOMIC_ACQUIRE) && t.kid == (int32_t)kid) {
        t.fn = nullptr;
        __atomic_store_n(&t.used, 0u, __ATOMIC_RELEASE);
        break;
      }
    }
  }
  return r;
}

}  // extern "C"
