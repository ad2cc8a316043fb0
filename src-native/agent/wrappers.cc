// libc wrappers that keep the suspend signal ours (PITFALLS 6): the application can neither
// block it (sigprocmask, pthread_sigmask, sigsuspend, sigwait*) nor replace it (sigaction,
// signal). Everything else passes through to the next definition (dlsym RTLD_NEXT).
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <errno.h>

#include "agent/agent.h"

namespace {

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

bool ours(int sig) { return amber::g.sig && sig == amber::g.sig; }

// A copy of set without the suspend signal (set may be null).
const sigset_t* filtered(const sigset_t* set, sigset_t* tmp) {
  if (!set || !amber::g.sig) return set;
  *tmp = *set;
  sigdelset(tmp, amber::g.sig);
  return tmp;
}

}  // namespace

namespace amber {
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
    if (old) { memset(old, 0, sizeof *old); old->sa_handler = SIG_DFL; }
    return 0;
  }
  return amber::real_sigaction(sig, act, old);
}

__attribute__((visibility("default"))) sighandler_t signal(int sig, sighandler_t h) {
  if (ours(sig)) return SIG_DFL;
  using F = sighandler_t (*)(int, sighandler_t);
  static F f = next<F>("signal");
  return f(sig, h);
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
  return f(filtered(set, &tmp), info);
}

__attribute__((visibility("default"))) int sigtimedwait(const sigset_t* set, siginfo_t* info,
                                                        const struct timespec* ts) {
  using F = int (*)(const sigset_t*, siginfo_t*, const struct timespec*);
  static F f = next<F>("sigtimedwait");
  sigset_t tmp;
  return f(filtered(set, &tmp), info, ts);
}

}  // extern "C"
