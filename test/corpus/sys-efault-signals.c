/* The signal wrappers (sigaction, signal, sigprocmask, pthread_sigmask, sigsuspend, sigtimedwait,
 * sigwaitinfo, sigwait, sigqueue, kill, tgkill, signalfd, timer_create, timer_delete) on invalid
 * pointers and values: the kernel's answer, before the checkpoint and after the restart. */
#include "efault.h"
#include <sys/signalfd.h>

static void h1(int s) { (void)s; }
static void h2(int s) { (void)s; }

static void checks(void) {
  /* what was installed comes back (the agent's trampolines never show) */
  signal(SIGWINCH, h1);
  TE(signal(SIGWINCH, h2) == h1 ? 0 : -1, 0);
  struct sigaction cur;
  memset(&cur, 0, sizeof cur);
  TE(sigaction(SIGWINCH, NULL, &cur) == 0 && cur.sa_handler == h2 ? 0 : -1, 0);
  TE(signal(SIGWINCH, SIG_DFL) == h2 ? 0 : -1, 0);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  struct timespec zero = {0, 0};
  struct timespec badns = {0, 2000000000L};
  union sigval sv = {.sival_int = 1};
  siginfo_t si;

  /* sigaction / signal: glibc copies the structs itself (a bad pointer crashes in glibc too) */
  T(sigaction(0, NULL, NULL), SYS_rt_sigaction, 0, NULL, NULL, 8);
  T(sigaction(65, NULL, NULL), SYS_rt_sigaction, 65, NULL, NULL, 8);
  T(sigaction(-1, NULL, NULL), SYS_rt_sigaction, -1, NULL, NULL, 8);
  T(sigaction(SIGKILL, &sa, NULL), SYS_rt_sigaction, SIGKILL, &sa, NULL, 8);
  T(sigaction(SIGSTOP, &sa, NULL), SYS_rt_sigaction, SIGSTOP, &sa, NULL, 8);
  T(signal(0, SIG_IGN), SYS_rt_sigaction, 0, &sa, NULL, 8);
  T(signal(SIGKILL, SIG_IGN), SYS_rt_sigaction, SIGKILL, &sa, NULL, 8);
  T(signal(1000, SIG_DFL), SYS_rt_sigaction, 1000, &sa, NULL, 8);

  /* sigprocmask */
  T(sigprocmask(99, &set, NULL), SYS_rt_sigprocmask, 99, &set, NULL, 8);
  T(sigprocmask(SIG_BLOCK, NULL, P1), SYS_rt_sigprocmask, SIG_BLOCK, NULL, P1, 8);
  T(sigprocmask(SIG_BLOCK, NULL, P_UNMAPPED), SYS_rt_sigprocmask, SIG_BLOCK, NULL, P_UNMAPPED, 8);
  T(sigprocmask(SIG_BLOCK, NULL, P_RO), SYS_rt_sigprocmask, SIG_BLOCK, NULL, P_RO, 8);
  T(sigprocmask(SIG_SETMASK, NULL, P_NONE), SYS_rt_sigprocmask, SIG_SETMASK, NULL, P_NONE, 8);
  TN(pthread_sigmask(99, &set, NULL), SYS_rt_sigprocmask, 99, &set, NULL, 8);
  TN(pthread_sigmask(SIG_BLOCK, NULL, P1), SYS_rt_sigprocmask, SIG_BLOCK, NULL, P1, 8);
  TN(pthread_sigmask(SIG_UNBLOCK, NULL, P_RO), SYS_rt_sigprocmask, SIG_UNBLOCK, NULL, P_RO, 8);

  /* sigsuspend / sigtimedwait / sigwaitinfo / sigwait: the mask is read by the kernel */
  T(sigsuspend(P1), SYS_rt_sigsuspend, P1, 8);
  T(sigsuspend(NULL), SYS_rt_sigsuspend, NULL, 8);
  T(sigsuspend(P_NONE), SYS_rt_sigsuspend, P_NONE, 8);
  T(sigsuspend(P_UNMAPPED), SYS_rt_sigsuspend, P_UNMAPPED, 8);
  T(sigtimedwait(P1, NULL, &zero), SYS_rt_sigtimedwait, P1, NULL, &zero, 8);
  T(sigtimedwait(NULL, NULL, &zero), SYS_rt_sigtimedwait, NULL, NULL, &zero, 8);
  T(sigtimedwait(&set, NULL, P1), SYS_rt_sigtimedwait, &set, NULL, P1, 8);
  T(sigtimedwait(&set, NULL, P_NONE), SYS_rt_sigtimedwait, &set, NULL, P_NONE, 8);
  T(sigtimedwait(&set, &si, &badns), SYS_rt_sigtimedwait, &set, &si, &badns, 8);
  T(sigtimedwait(&set, P1, &zero), SYS_rt_sigtimedwait, &set, P1, &zero, 8);
  T(sigtimedwait(&set, &si, &zero), SYS_rt_sigtimedwait, &set, &si, &zero, 8);
  T(sigwaitinfo(P1, NULL), SYS_rt_sigtimedwait, P1, NULL, NULL, 8);
  T(sigwaitinfo(P_UNMAPPED, &si), SYS_rt_sigtimedwait, P_UNMAPPED, &si, NULL, 8);
  int signo = 0;
  TN(sigwait(P1, &signo), SYS_rt_sigtimedwait, P1, NULL, NULL, 8);
  TN(sigwait(P_NONE, &signo), SYS_rt_sigtimedwait, P_NONE, NULL, NULL, 8);

  /* a SIGUSR2 queued to ourselves, then waited for with a bad siginfo pointer */
  sigset_t old;
  sigprocmask(SIG_BLOCK, &set, &old);
  raise(SIGUSR2);
  do {
    EF_BEGIN(sigtimedwait(&set, P_RO, &zero) with SIGUSR2 pending);
    long lib = sigtimedwait(&set, P_RO, &zero) == -1 ? -(long)errno : 0;
    raise(SIGUSR2);
    long ker = RAW(SYS_rt_sigtimedwait, &set, P_RO, &zero, 8);
    ef_cmp(lib, ker < 0 ? ker : 0, "kernel");
  } while (0);
  while (sigtimedwait(&set, NULL, &zero) > 0) {
  }
  sigprocmask(SIG_SETMASK, &old, NULL);

  /* sigqueue / kill / tgkill: pids that do not exist, signals that do not */
  T(sigqueue(BADPID, SIGUSR2, sv), SYS_kill, BADPID, SIGUSR2);
  T(sigqueue(-BADPID, 0, sv), SYS_kill, -BADPID, 0);
  TE(sigqueue(getpid(), 99, sv), EINVAL);
  TE(sigqueue(getpid(), -1, sv), EINVAL);
  T(kill(BADPID, 0), SYS_kill, BADPID, 0);
  T(kill(-BADPID, 0), SYS_kill, -BADPID, 0);
  T(kill(BADPID, SIGKILL), SYS_kill, BADPID, SIGKILL);
  T(kill(-2147483647 - 1, 0), SYS_kill, -2147483647 - 1, 0);
  T(kill(0, 99), SYS_kill, 0, 99);
  T(kill(0, -1), SYS_kill, 0, -1);
  TE(kill(getpid(), 99), EINVAL);
  TE(kill(-getpgrp(), 99), EINVAL);
  T(tgkill(0, 1, 0), SYS_tgkill, 0, 1, 0);
  T(tgkill(-1, -1, 0), SYS_tgkill, -1, -1, 0);
  T(tgkill(BADPID, BADPID, 0), SYS_tgkill, BADPID, BADPID, 0);
  TE(tgkill(getpid(), BADPID, 0), ESRCH);
  TE(tgkill(getpid(), gettid(), 99), EINVAL);
  TE(tgkill(BADPID, gettid(), 0), ESRCH);

  /* signalfd */
  T(signalfd(-1, P1, 0), SYS_signalfd4, -1, P1, 8, 0);
  T(signalfd(-1, NULL, 0), SYS_signalfd4, -1, NULL, 8, 0);
  T(signalfd(-1, P_NONE, 0), SYS_signalfd4, -1, P_NONE, 8, 0);
  T(signalfd(12345, &set, 0), SYS_signalfd4, 12345, &set, 8, 0);
  T(signalfd(-1, &set, 0x7fff0000), SYS_signalfd4, -1, &set, 8, 0x7fff0000);
  T(signalfd(0, &set, 0), SYS_signalfd4, 0, &set, 8, 0);
  T(signalfd(-1, P1, SFD_CLOEXEC), SYS_signalfd4, -1, P1, 8, SFD_CLOEXEC);

  /* timer_create / timer_delete */
  timer_t tid;
  int kt;
  T(timer_create(99, NULL, &tid), SYS_timer_create, 99, NULL, &kt);
  T(timer_create(-1, NULL, &tid), SYS_timer_create, -1, NULL, &kt);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGUSR2;
  ev._sigev_un._tid = BADPID;
  T(timer_create(CLOCK_MONOTONIC, &ev, &tid), SYS_timer_create, CLOCK_MONOTONIC, &ev, &kt);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = 99;
  T(timer_create(CLOCK_MONOTONIC, &ev, &tid), SYS_timer_create, CLOCK_MONOTONIC, &ev, &kt);
  ev.sigev_notify = 77;
  ev.sigev_signo = SIGUSR2;
  T(timer_create(CLOCK_MONOTONIC, &ev, &tid), SYS_timer_create, CLOCK_MONOTONIC, &ev, &kt);
  T(timer_delete((timer_t)(long)12345), SYS_timer_delete, 12345);
  T(timer_delete((timer_t)(long)0x7fffffff), SYS_timer_delete, 0x7fffffff);
}

int main(void) { return efault_main(); }
