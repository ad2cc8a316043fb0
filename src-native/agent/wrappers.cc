// libc wrappers that keep the suspend signal ours (PITFALLS 6): the application can neither
// block it (sigprocmask, pthread_sigmask, sigsuspend, sigwait*, a handler's sa_mask) nor replace
// it (sigaction, signal). Everything else passes through to the next definition (dlsym RTLD_NEXT).
//
// They also keep the pids in siginfo virtual: after a restart the kernel fills si_pid with kernel
// pids. An SA_SIGINFO handler of the application is installed behind a trampoline of ours that
// rewrites si_pid to the app pid and calls it; the application never sees the trampoline (the
// old action reported back is its own handler). sigwaitinfo/sigtimedwait results likewise.
//
// Invalid pointers: a signal set or action we must look at is read through sys::vm_read (no
// fault possible); one we cannot read is handed to libc as it is, so the application sees what
// libc does with it (EFAULT from the kernel for sigsuspend/sigwait*, libc's own fault for
// sigprocmask and sigaction, which read them in user space).
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <string.h>
#include <errno.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"
#include "syscall/intr.h"

namespace {

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

bool ours(int sig) { return amber::g.sig && sig == amber::g.sig; }

// A copy of set without the suspend signal (set may be null or invalid: then set itself). The
// kernel reads only the first 8 bytes of a sigset_t (its _NSIG bits): so do we, and the copy
// beyond them is zero.
const sigset_t* filtered(const sigset_t* set, sigset_t* tmp) {
  if (!set || !amber::g.sig) return set;
  memset(tmp, 0, sizeof *tmp);
  if (sys::vm_read(tmp, set, 8) != 8) return set;
  sigdelset(tmp, amber::g.sig);
  return tmp;
}

// glibc keeps these for itself (SIGCANCEL, SIGSETXID) and refuses them with EINVAL before it
// reads anything.
bool internal(int sig) { return sig == 32 || sig == 33; }

// The application's SA_SIGINFO handlers, by signal number. In .bss: a checkpoint saves it with
// the rest of memory, so the restored trampoline still finds them.
using InfoHandler = void (*)(int, siginfo_t*, void*);
InfoHandler g_app_handler[_NSIG];
// Signals whose action's mask the application gave with our signal in it (taken out: sigaction).
uint64_t g_mask_ours;

// Does si_pid hold a pid for this siginfo? Sent by a process (kill, sigqueue, tgkill, mq_notify)
// or a child's state change. Not SI_TIMER/SI_SIGIO (si_pid overlaps the timer id / si_band
// there) nor the kernel's own faults.
bool has_pid(int sig, const siginfo_t* info) {
  int c = info->si_code;
  if (c == SI_USER || c == SI_QUEUE || c == SI_TKILL || c == SI_MESGQ) return true;
  return sig == SIGCHLD && c >= CLD_EXITED && c <= CLD_CONTINUED;
}

void translate(int sig, siginfo_t* info) {
  if (info && has_pid(sig, info) && info->si_pid > 0) info->si_pid = amber::pid::to_app(info->si_pid);
}

// Runs in signal context: no locks, no allocation (to_app reads the map without either).
void trampoline(int sig, siginfo_t* info, void* uc) {
  InfoHandler h = __atomic_load_n(&g_app_handler[sig], __ATOMIC_ACQUIRE);
  translate(sig, info);
  amber::intr::app_handler_runs(uc);
  if (h) h(sig, info, uc);
}

bool is_trampoline(const struct sigaction* a) {
  return (a->sa_flags & SA_SIGINFO) && a->sa_sigaction == trampoline;
}

// Plain (sa_handler) handlers go behind a trampoline of their own too, with the application's
// flags unchanged: it tags the frame the handler returns to when its signal interrupted a call,
// so that the EINTR the application's signal caused is never taken for one the checkpoint caused
// (syscall/record.cc). On x86-64 the kernel passes the ucontext to every handler (rdx), SA_SIGINFO
// or not: the trampoline takes it, and is installed as a plain handler.
using PlainHandler = void (*)(int);
PlainHandler g_app_plain[_NSIG];

void plain_trampoline_uc(int sig, siginfo_t*, void* uc) {
  PlainHandler h = __atomic_load_n(&g_app_plain[sig], __ATOMIC_ACQUIRE);
  amber::intr::app_handler_runs(uc);
  if (h) h(sig);
}
// (through void (*)(): the two handler types are different function types)
const PlainHandler plain_trampoline =
    reinterpret_cast<PlainHandler>(reinterpret_cast<void (*)()>(&plain_trampoline_uc));

bool is_plain_trampoline(const struct sigaction* a) {
  return !(a->sa_flags & SA_SIGINFO) && a->sa_handler == plain_trampoline;
}

bool real_handler(sighandler_t h) { return h != SIG_DFL && h != SIG_IGN && h != SIG_ERR; }

}  // namespace

namespace amber {
// syscall(2) of a call that takes a signal mask or an action: our signal kept as the libc
// wrappers here keep it (a program, or a runtime, that masks signals by raw system call). True
// when n is one of them, with the kernel's answer in *r.
bool sig_syscall(long n, long a, long b, long c, long d, long e, long f, long* r) {
  sigset_t tmp;
  auto fl = [&](long set) { return reinterpret_cast<long>(filtered(reinterpret_cast<const sigset_t*>(set), &tmp)); };
  switch (n) {
    case SYS_rt_sigprocmask: *r = sys::sc4(n, a, a == SIG_UNBLOCK ? b : fl(b), c, d); return true;
    case SYS_rt_sigsuspend: *r = sys::sc2(n, fl(a), b); return true;
    case SYS_rt_sigtimedwait: *r = sys::sc4(n, fl(a), b, c, d); return true;
    case SYS_ppoll: *r = sys::sc5(n, a, b, c, fl(d), e); return true;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2: *r = sys::sc6(n, a, b, c, d, fl(e), f); return true;
    case SYS_pselect6: {
      struct { long set, len; } x;  // the kernel's sixth argument: the mask and its size
      if (f && sys::vm_read(&x, reinterpret_cast<const void*>(f), sizeof x) == (long)sizeof x && x.set) {
        x.set = fl(x.set);
        *r = sys::sc6(n, a, b, c, d, e, reinterpret_cast<long>(&x));
      } else {
        *r = sys::sc6(n, a, b, c, d, e, f);
      }
      return true;
    }
    case SYS_rt_sigaction: {
      struct { uint64_t handler, flags, restorer, mask; } k;  // the kernel's struct sigaction
      if (ours((int)a)) {
        // As the sigaction wrapper: the default action, and the change "succeeds".
        memset(&k, 0, sizeof k);
        *r = c && sys::vm_write(reinterpret_cast<void*>(c), &k, sizeof k) != (long)sizeof k ? -EFAULT : 0;
        return true;
      }
      if (b && g.sig && sys::vm_read(&k, reinterpret_cast<const void*>(b), sizeof k) == (long)sizeof k) {
        k.mask &= ~(1ull << (g.sig - 1));
        *r = sys::sc4(n, a, reinterpret_cast<long>(&k), c, d);
      } else {
        *r = sys::sc4(n, a, b, c, d);
      }
      return true;
    }
    default: return false;
  }
}

int real_sigaction(int sig, const void* act, void* old) {
  using F = int (*)(int, const struct sigaction*, struct sigaction*);
  static F f = next<F>("sigaction");
  return f(sig, static_cast<const struct sigaction*>(act), static_cast<struct sigaction*>(old));
}
}  // namespace amber

extern "C" {

__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction* act,
                                                     struct sigaction* old) {
  if (ours(sig)) {
    // Pretend: the application sees the default action and its change "succeeds".
    if (old) {
      struct sigaction dfl;
      memset(&dfl, 0, sizeof dfl);
      dfl.sa_handler = SIG_DFL;
      if (sys::vm_write(old, &dfl, sizeof dfl) != (long)sizeof dfl) { errno = EFAULT; return -1; }
    }
    return 0;
  }
  if (sig <= 0 || sig >= _NSIG || internal(sig)) return amber::real_sigaction(sig, act, old);
  InfoHandler prev = __atomic_load_n(&g_app_handler[sig], __ATOMIC_ACQUIRE);
  PlainHandler prev_plain = __atomic_load_n(&g_app_plain[sig], __ATOMIC_ACQUIRE);
  struct sigaction mine;
  uint64_t had_ours = __atomic_load_n(&g_mask_ours, __ATOMIC_ACQUIRE) & (1ull << (sig - 1));
  // A copy read safely: an action we cannot read goes to libc untouched.
  bool readable = act && sys::vm_read(&mine, act, sizeof mine) == (long)sizeof mine;
  if (readable && amber::g.sig && sigismember(&mine.sa_mask, amber::g.sig) == 1) {
    // A handler's mask holding every signal (postgres's) would block ours for as long as the
    // handler runs — and in every child it forks from there, until it unblocks — so that the
    // checkpoint cannot stop that thread. The application is told its own mask back.
    sigdelset(&mine.sa_mask, amber::g.sig);
    act = &mine;
    __atomic_or_fetch(&g_mask_ours, 1ull << (sig - 1), __ATOMIC_RELEASE);
  } else if (readable) {
    __atomic_and_fetch(&g_mask_ours, ~(1ull << (sig - 1)), __ATOMIC_RELEASE);
  }
  if (readable && real_handler(mine.sa_handler)) {
    // Published before the trampoline is installed, so a signal arriving in between finds it.
    if (mine.sa_flags & SA_SIGINFO) {
      __atomic_store_n(&g_app_handler[sig], mine.sa_sigaction, __ATOMIC_RELEASE);
      mine.sa_sigaction = trampoline;
    } else {
      __atomic_store_n(&g_app_plain[sig], mine.sa_handler, __ATOMIC_RELEASE);
      mine.sa_handler = plain_trampoline;
    }
    act = &mine;
  }
  int r = amber::real_sigaction(sig, act, old);
  if (r != 0 && act == &mine) {
    __atomic_store_n(&g_app_handler[sig], prev, __ATOMIC_RELEASE);
    __atomic_store_n(&g_app_plain[sig], prev_plain, __ATOMIC_RELEASE);
    if (had_ours) __atomic_or_fetch(&g_mask_ours, had_ours, __ATOMIC_RELEASE);
    else __atomic_and_fetch(&g_mask_ours, ~(1ull << (sig - 1)), __ATOMIC_RELEASE);
  }
  if (r == 0 && old && had_ours) sigaddset(&old->sa_mask, amber::g.sig);
  if (r == 0 && old && is_trampoline(old)) old->sa_sigaction = prev;
  else if (r == 0 && old && is_plain_trampoline(old)) old->sa_handler = prev_plain;
  return r;
}

// glibc's signal() installs through its internal sigaction (no SA_SIGINFO: no siginfo to fix): we
// hand it the plain trampoline, and translate the handler it returns when it is one of ours.
__attribute__((visibility("default"))) sighandler_t signal(int sig, sighandler_t h) {
  if (ours(sig)) return SIG_DFL;
  using F = sighandler_t (*)(int, sighandler_t);
  static F f = next<F>("signal");
  if (sig <= 0 || sig >= _NSIG || internal(sig)) return f(sig, h);
  PlainHandler prev_plain = __atomic_load_n(&g_app_plain[sig], __ATOMIC_ACQUIRE);
  sighandler_t use = h;
  if (real_handler(h)) {
    __atomic_store_n(&g_app_plain[sig], h, __ATOMIC_RELEASE);
    use = plain_trampoline;
  }
  sighandler_t r = f(sig, use);
  if (r == SIG_ERR && use != h) __atomic_store_n(&g_app_plain[sig], prev_plain, __ATOMIC_RELEASE);
  // (through void (*)(): the two handler types are different function types)
  using Any = void (*)();
  if (reinterpret_cast<Any>(r) == reinterpret_cast<Any>(&trampoline))
    r = reinterpret_cast<sighandler_t>(reinterpret_cast<Any>(__atomic_load_n(&g_app_handler[sig], __ATOMIC_ACQUIRE)));
  else if (r == plain_trampoline)
    r = prev_plain;
  return r;
}

__attribute__((visibility("default"))) int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  using F = int (*)(int, const sigset_t*, sigset_t*);
  static F f = next<F>("sigprocmask");
  sigset_t tmp;
  return f(how, how == SIG_UNBLOCK ? set : filtered(set, &tmp), old);
}

__attribute__((visibility("default"))) int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  using F = int (*)(int, const sigset_t*, sigset_t*);
  static F f = next<F>("pthread_sigmask");
  sigset_t tmp;
  return f(how, how == SIG_UNBLOCK ? set : filtered(set, &tmp), old);
}

__attribute__((visibility("default"))) int sigsuspend(const sigset_t* mask) {
  using F = int (*)(const sigset_t*);
  static F f = next<F>("sigsuspend");
  sigset_t tmp;
  return f(filtered(mask, &tmp));
}

// The waits that take a signal mask for their duration: a mask holding every signal (an event
// loop that takes its signals from a signalfd) would keep the checkpoint from stopping the thread
// for as long as it waits.
__attribute__((visibility("default"))) int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* ts,
                                                 const sigset_t* mask) {
  using F = int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*);
  static F f = next<F>("ppoll");
  sigset_t tmp;
  return f(fds, n, ts, filtered(mask, &tmp));
}

__attribute__((visibility("default"))) int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const struct timespec* ts,
                                                   const sigset_t* mask) {
  using F = int (*)(int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*);
  static F f = next<F>("pselect");
  sigset_t tmp;
  return f(n, r, w, e, ts, filtered(mask, &tmp));
}

__attribute__((visibility("default"))) int epoll_pwait(int ep, struct epoll_event* ev, int max, int timeout,
                                                       const sigset_t* mask) {
  using F = int (*)(int, struct epoll_event*, int, int, const sigset_t*);
  static F f = next<F>("epoll_pwait");
  sigset_t tmp;
  return f(ep, ev, max, timeout, filtered(mask, &tmp));
}

__attribute__((visibility("default"))) int epoll_pwait2(int ep, struct epoll_event* ev, int max, const struct timespec* ts,
                                                        const sigset_t* mask) {
  using F = int (*)(int, struct epoll_event*, int, const struct timespec*, const sigset_t*);
  static F f = next<F>("epoll_pwait2");
  sigset_t tmp;
  return f(ep, ev, max, ts, filtered(mask, &tmp));
}

__attribute__((visibility("default"))) int sigwait(const sigset_t* set, int* sig) {
  using F = int (*)(const sigset_t*, int*);
  static F f = next<F>("sigwait");
  sigset_t tmp;
  return f(filtered(set, &tmp), sig);
}

__attribute__((visibility("default"))) int sigwaitinfo(const sigset_t* set, siginfo_t* info) {
  using F = int (*)(const sigset_t*, siginfo_t*);
  static F f = next<F>("sigwaitinfo");
  sigset_t tmp;
  int r = f(filtered(set, &tmp), info);
  if (r > 0) translate(r, info);
  return r;
}

__attribute__((visibility("default"))) int sigtimedwait(const sigset_t* set, siginfo_t* info,
                                                        const struct timespec* ts) {
  using F = int (*)(const sigset_t*, siginfo_t*, const struct timespec*);
  static F f = next<F>("sigtimedwait");
  sigset_t tmp;
  int r = f(filtered(set, &tmp), info, ts);
  if (r > 0) translate(r, info);
  return r;
}

}  // extern "C"
