/* syscall(2) with the numbers the agent inspects (pids it translates, signal and descriptor calls
 * it keeps track of) on invalid pointers, pids and values: the kernel's answer, before the
 * checkpoint and after the restart. */
#include "efault.h"
#include <dlfcn.h>
#include <linux/aio_abi.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>

/* libaio's convention (the agent's io_submit etc.): the kernel's answer, -errno, returned */
#define TK(call, ...)                                           \
  do {                                                          \
    EF_BEGIN(call);                                             \
    long _l = (long)(call);                                     \
    long _k = RAW(__VA_ARGS__);                                 \
    ef_cmp(_l, _k, "kernel");                                   \
  } while (0)

static aio_context_t actx;  /* a context of ours (made once: after the restart, the same one) */

static void checks(void) {
  int st;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  struct rlimit rl;
  cpu_set_t cs;
  struct timespec ts;

  /* signals */
  T(syscall(SYS_kill, BADPID, 0), SYS_kill, BADPID, 0);
  T(syscall(SYS_kill, -BADPID, 0), SYS_kill, -BADPID, 0);
  T(syscall(SYS_kill, -2147483647 - 1, 0), SYS_kill, -2147483647 - 1, 0);
  T(syscall(SYS_kill, 0, 99), SYS_kill, 0, 99);
  T(syscall(SYS_kill, -1, 99), SYS_kill, -1, 99);
  TE(syscall(SYS_kill, getpid(), 99), EINVAL);
  T(syscall(SYS_tkill, BADPID, 0), SYS_tkill, BADPID, 0);
  T(syscall(SYS_tkill, 0, 0), SYS_tkill, 0, 0);
  T(syscall(SYS_tkill, -1, 0), SYS_tkill, -1, 0);
  T(syscall(SYS_tgkill, 0, 1, 0), SYS_tgkill, 0, 1, 0);
  T(syscall(SYS_tgkill, BADPID, BADPID, 0), SYS_tgkill, BADPID, BADPID, 0);
  TE(syscall(SYS_tgkill, getpid(), BADPID, 0), ESRCH);
  T(syscall(SYS_rt_sigqueueinfo, BADPID, SIGUSR2, &si), SYS_rt_sigqueueinfo, BADPID, SIGUSR2, &si);
  T(syscall(SYS_rt_sigqueueinfo, 0, SIGUSR2, P1), SYS_rt_sigqueueinfo, 0, SIGUSR2, P1);
  TE(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, P1), EFAULT);
  TE(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR2, NULL), EFAULT);
  TE(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR2, P_NONE), EFAULT);
  T(syscall(SYS_rt_tgsigqueueinfo, BADPID, BADPID, SIGUSR2, &si), SYS_rt_tgsigqueueinfo, BADPID, BADPID, SIGUSR2, &si);
  T(syscall(SYS_rt_sigaction, SIGUSR2, P1, NULL, 8), SYS_rt_sigaction, SIGUSR2, P1, NULL, 8);
  T(syscall(SYS_rt_sigaction, SIGUSR2, NULL, P1, 8), SYS_rt_sigaction, SIGUSR2, NULL, P1, 8);
  T(syscall(SYS_rt_sigaction, SIGUSR2, P_NONE, P_RO, 8), SYS_rt_sigaction, SIGUSR2, P_NONE, P_RO, 8);
  T(syscall(SYS_rt_sigaction, 99, NULL, NULL, 8), SYS_rt_sigaction, 99, NULL, NULL, 8);
  T(syscall(SYS_rt_sigaction, SIGUSR2, NULL, NULL, 4), SYS_rt_sigaction, SIGUSR2, NULL, NULL, 4);
  T(syscall(SYS_rt_sigprocmask, SIG_BLOCK, P1, NULL, 8), SYS_rt_sigprocmask, SIG_BLOCK, P1, NULL, 8);
  T(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, P1, 8), SYS_rt_sigprocmask, SIG_BLOCK, NULL, P1, 8);
  T(syscall(SYS_rt_sigprocmask, 99, NULL, NULL, 8), SYS_rt_sigprocmask, 99, NULL, NULL, 8);
  T(syscall(SYS_rt_sigsuspend, P1, 8), SYS_rt_sigsuspend, P1, 8);
  T(syscall(SYS_rt_sigtimedwait, P1, NULL, NULL, 8), SYS_rt_sigtimedwait, P1, NULL, NULL, 8);
  T(syscall(SYS_signalfd4, -1, P1, 8, 0), SYS_signalfd4, -1, P1, 8, 0);
  T(syscall(SYS_pidfd_send_signal, -1, 0, NULL, 0), SYS_pidfd_send_signal, -1, 0, NULL, 0);
  T(syscall(SYS_pidfd_send_signal, 0, 0, NULL, 0), SYS_pidfd_send_signal, 0, 0, NULL, 0);
  T(syscall(SYS_timer_create, 99, NULL, P1), SYS_timer_create, 99, NULL, P1);
  T(syscall(SYS_timer_create, CLOCK_MONOTONIC, P1, P1), SYS_timer_create, CLOCK_MONOTONIC, P1, P1);
  T(syscall(SYS_timer_delete, 12345), SYS_timer_delete, 12345);
  T(syscall(SYS_timer_settime, 12345, 0, P1, NULL), SYS_timer_settime, 12345, 0, P1, NULL);

  /* waits */
  T(syscall(SYS_wait4, BADPID, &st, 0, NULL), SYS_wait4, BADPID, &st, 0, NULL);
  T(syscall(SYS_wait4, -BADPID, P1, 0, P1), SYS_wait4, -BADPID, P1, 0, P1);
  T(syscall(SYS_wait4, -1, &st, -1, NULL), SYS_wait4, -1, &st, -1, NULL);
  T(syscall(SYS_waitid, P_PID, BADPID, &si, WEXITED, NULL), SYS_waitid, P_PID, BADPID, &si, WEXITED, NULL);
  T(syscall(SYS_waitid, P_PGID, BADPID, P1, WEXITED, NULL), SYS_waitid, P_PGID, BADPID, P1, WEXITED, NULL);
  T(syscall(SYS_waitid, 99, 0, P1, WEXITED, NULL), SYS_waitid, 99, 0, P1, WEXITED, NULL);
  TZ(syscall(SYS_wait4, z, P1, 0, NULL), RAW(SYS_wait4, z, P1, 0, NULL));
  TZ(syscall(SYS_wait4, -1, P_RO, 0, NULL), RAW(SYS_wait4, -1, P_RO, 0, NULL));
  TZ(syscall(SYS_wait4, z, NULL, 0, P1), RAW(SYS_wait4, z, NULL, 0, P1));
  TZ(syscall(SYS_waitid, P_PID, z, P1, WEXITED, NULL), RAW(SYS_waitid, P_PID, z, P1, WEXITED, NULL));
  TZ(syscall(SYS_waitid, P_ALL, 0, P_RO, WEXITED, NULL), RAW(SYS_waitid, P_ALL, 0, P_RO, WEXITED, NULL));
  TZ(syscall(SYS_waitid, P_ALL, 0, NULL, WEXITED, P1), RAW(SYS_waitid, P_ALL, 0, NULL, WEXITED, P1));

  /* pids of other kinds */
  T(syscall(SYS_sched_getaffinity, BADPID, sizeof cs, &cs), SYS_sched_getaffinity, BADPID, sizeof cs, &cs);
  T(syscall(SYS_sched_getaffinity, 0, sizeof cs, P1), SYS_sched_getaffinity, 0, sizeof cs, P1);
  T(syscall(SYS_sched_setaffinity, 0, sizeof cs, P_NONE), SYS_sched_setaffinity, 0, sizeof cs, P_NONE);
  T(syscall(SYS_sched_getparam, -1, P1), SYS_sched_getparam, -1, P1);
  T(syscall(SYS_sched_getscheduler, BADPID), SYS_sched_getscheduler, BADPID);
  T(syscall(SYS_sched_rr_get_interval, 0, P1), SYS_sched_rr_get_interval, 0, P1);
  T(syscall(SYS_prlimit64, BADPID, RLIMIT_NOFILE, NULL, &rl), SYS_prlimit64, BADPID, RLIMIT_NOFILE, NULL, &rl);
  T(syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, P1, NULL), SYS_prlimit64, 0, RLIMIT_FSIZE, P1, NULL);
  T(syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, P_RO), SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, P_RO);
  T(syscall(SYS_prlimit64, 0, 999, NULL, &rl), SYS_prlimit64, 0, 999, NULL, &rl);
  T(syscall(SYS_kcmp, BADPID, BADPID, 0, 0, 0), SYS_kcmp, BADPID, BADPID, 0, 0, 0);
  T(syscall(SYS_kcmp, 0, 0, 0, 0, 0), SYS_kcmp, 0, 0, 0, 0, 0);
  T(syscall(SYS_pidfd_open, BADPID, 0), SYS_pidfd_open, BADPID, 0);
  T(syscall(SYS_pidfd_open, -1, 0), SYS_pidfd_open, -1, 0);
  T(syscall(SYS_getpriority, PRIO_PROCESS, BADPID), SYS_getpriority, PRIO_PROCESS, BADPID);
  T(syscall(SYS_getpriority, 99, 0), SYS_getpriority, 99, 0);
  T(syscall(SYS_setpriority, PRIO_PGRP, BADPID, 0), SYS_setpriority, PRIO_PGRP, BADPID, 0);
  T(syscall(SYS_ioprio_get, 1, BADPID), SYS_ioprio_get, 1, BADPID);
  T(syscall(SYS_ioprio_get, 99, 0), SYS_ioprio_get, 99, 0);
  T(syscall(SYS_ioprio_set, 1, BADPID, 0), SYS_ioprio_set, 1, BADPID, 0);
  T(syscall(SYS_getpgid, BADPID), SYS_getpgid, BADPID);
  T(syscall(SYS_getpgid, -1), SYS_getpgid, -1);
  T(syscall(SYS_getsid, BADPID), SYS_getsid, BADPID);
  T(syscall(SYS_setpgid, BADPID, 0), SYS_setpgid, BADPID, 0);
  T(syscall(SYS_setpgid, 0, -1), SYS_setpgid, 0, -1);
  T(syscall(SYS_process_vm_readv, BADPID, NULL, 0, NULL, 0, 0), SYS_process_vm_readv, BADPID, NULL, 0, NULL, 0, 0);
  T(syscall(SYS_process_vm_readv, 0, P1, 1, P1, 1, 0), SYS_process_vm_readv, 0, P1, 1, P1, 1, 0);
  T(syscall(SYS_get_robust_list, BADPID, P1, P1), SYS_get_robust_list, BADPID, P1, P1);
  T(syscall(SYS_get_robust_list, 0, P1, P1), SYS_get_robust_list, 0, P1, P1);
  T(syscall(SYS_set_robust_list, P1, 1), SYS_set_robust_list, P1, 1);
  T(syscall(SYS_futex, P1, FUTEX_WAKE, 1, NULL, NULL, 0), SYS_futex, P1, FUTEX_WAKE, 1, NULL, NULL, 0);
  T(syscall(SYS_futex, P_NONE, FUTEX_WAIT, 0, NULL, NULL, 0), SYS_futex, P_NONE, FUTEX_WAIT, 0, NULL, NULL, 0);
  T(syscall(SYS_futex, P1, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0), SYS_futex, P1, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);

  /* descriptors, credentials, process control */
  T(syscall(SYS_close, -1), SYS_close, -1);
  T(syscall(SYS_close, 1 << 30), SYS_close, 1 << 30);
  T(syscall(SYS_close_range, 5, 3, 0), SYS_close_range, 5, 3, 0);
  T(syscall(SYS_close_range, 1 << 29, 1 << 29, 0x7fff0000), SYS_close_range, 1 << 29, 1 << 29, 0x7fff0000);
  T(syscall(SYS_dup2, -1, 100), SYS_dup2, -1, 100);
  T(syscall(SYS_dup2, 0, -1), SYS_dup2, 0, -1);
  T(syscall(SYS_dup3, 0, 0, 0), SYS_dup3, 0, 0, 0);
  T(syscall(SYS_dup3, 0, 100, 0x7fff), SYS_dup3, 0, 100, 0x7fff);
  T(syscall(SYS_capset, P1, P1), SYS_capset, P1, P1);
  T(syscall(SYS_prctl, PR_SET_SECCOMP, 2, P1, 0, 0), SYS_prctl, PR_SET_SECCOMP, 2, P1, 0, 0);
  T(syscall(SYS_prctl, 9999, 0, 0, 0, 0), SYS_prctl, 9999, 0, 0, 0, 0);
  T(syscall(SYS_prctl, PR_SET_PTRACER, BADPID, 0, 0, 0), SYS_prctl, PR_SET_PTRACER, BADPID, 0, 0, 0);
  T(syscall(SYS_seccomp, 1, 0, P1), SYS_seccomp, 1, 0, P1);
  T(syscall(SYS_seccomp, 1, 0x7fff0000, P1), SYS_seccomp, 1, 0x7fff0000, P1);
  T(syscall(SYS_clone3, P1, 88), SYS_clone3, P1, 88);
  T(syscall(SYS_clone3, NULL, 0), SYS_clone3, NULL, 0);
  T(syscall(SYS_execve, P1, NULL, NULL), SYS_execve, P1, NULL, NULL);
  T(syscall(SYS_open, P1, O_RDONLY), SYS_open, P1, O_RDONLY);
  T(syscall(SYS_openat, AT_FDCWD, P_NONE, O_RDONLY), SYS_openat, AT_FDCWD, P_NONE, O_RDONLY);
  T(syscall(SYS_readlink, "/proc/self", P1, 64), SYS_readlink, "/proc/self", P1, 64);
  T(syscall(SYS_getrusage, RUSAGE_SELF, P1), SYS_getrusage, RUSAGE_SELF, P1);
  T(syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, P1), SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, P1);
  T(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, P1, NULL), SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, P1, NULL);
  T(syscall(SYS_nanosleep, P1, NULL), SYS_nanosleep, P1, NULL);
  ts.tv_sec = 0;
  ts.tv_nsec = 2000000000L;
  T(syscall(SYS_nanosleep, &ts, NULL), SYS_nanosleep, &ts, NULL);
  T(syscall(SYS_poll, P1, 1, 0), SYS_poll, P1, 1, 0);
  T(syscall(SYS_ppoll, P1, 1, P1, NULL, 8), SYS_ppoll, P1, 1, P1, NULL, 8);
  T(syscall(SYS_select, 1, P1, NULL, NULL, P1), SYS_select, 1, P1, NULL, NULL, P1);
  T(syscall(SYS_epoll_wait, -1, P1, 1, 0), SYS_epoll_wait, -1, P1, 1, 0);
  T(syscall(SYS_read, -1, P1, 1), SYS_read, -1, P1, 1);
  T(syscall(SYS_inotify_add_watch, -1, P1, 0), SYS_inotify_add_watch, -1, P1, 0);
  T(syscall(SYS_fcntl, 0, F_SETOWN_EX, P1), SYS_fcntl, 0, F_SETOWN_EX, P1);
  T(syscall(SYS_fcntl, 0, F_GETLK, P1), SYS_fcntl, 0, F_GETLK, P1);
  T(syscall(SYS_ioctl, 0, 0x540f /*TIOCGPGRP*/, P1), SYS_ioctl, 0, 0x540f, P1);
  T(syscall(SYS_getsockopt, 0, 1, 17 /*SO_PEERCRED*/, P1, P1), SYS_getsockopt, 0, 1, 17, P1, P1);
  T(syscall(SYS_recvmsg, -1, P1, 0), SYS_recvmsg, -1, P1, 0);
  T(syscall(SYS_semop, -1, P1, 1), SYS_semop, -1, P1, 1);
  T(syscall(SYS_semctl, -1, 0, 2 /*IPC_STAT*/, P1), SYS_semctl, -1, 0, 2, P1);
  T(syscall(SYS_times, P1), SYS_times, P1);
  /* Linux AIO: syscall(2)'s numbers, and libaio's names when something defines them (the agent
   * does: mem/aio.cc notes the requests in flight) */
  if (!actx && syscall(SYS_io_setup, 4, &actx) < 0) actx = 0;
  aio_context_t zero = 0;
  void* badlist[1] = {P_NONE};
  T(syscall(SYS_io_setup, 4, P1), SYS_io_setup, 4, P1);
  T(syscall(SYS_io_setup, 4, P_NONE), SYS_io_setup, 4, P_NONE);
  T(syscall(SYS_io_setup, 4, P_RO), SYS_io_setup, 4, P_RO);
  T(syscall(SYS_io_setup, 0, &zero), SYS_io_setup, 0, &zero);
  T(syscall(SYS_io_destroy, 12345), SYS_io_destroy, 12345);
  T(syscall(SYS_io_submit, 12345, 1, P1), SYS_io_submit, 12345, 1, P1);
  T(syscall(SYS_io_submit, actx, 1, P1), SYS_io_submit, actx, 1, P1);
  T(syscall(SYS_io_submit, actx, 1, P_NONE), SYS_io_submit, actx, 1, P_NONE);
  T(syscall(SYS_io_submit, actx, 1, badlist), SYS_io_submit, actx, 1, badlist);
  T(syscall(SYS_io_submit, actx, -1L, P1), SYS_io_submit, actx, -1L, P1);
  T(syscall(SYS_io_cancel, actx, P1, P1), SYS_io_cancel, actx, P1, P1);
  T(syscall(SYS_io_cancel, 12345, P_NONE, P_NONE), SYS_io_cancel, 12345, P_NONE, P_NONE);
  int (*l_setup)(int, void*) = (int (*)(int, void*))dlsym(RTLD_DEFAULT, "io_setup");
  int (*l_destroy)(aio_context_t) = (int (*)(aio_context_t))dlsym(RTLD_DEFAULT, "io_destroy");
  int (*l_submit)(aio_context_t, long, void*) = (int (*)(aio_context_t, long, void*))dlsym(RTLD_DEFAULT, "io_submit");
  int (*l_cancel)(aio_context_t, void*, void*) = (int (*)(aio_context_t, void*, void*))dlsym(RTLD_DEFAULT, "io_cancel");
  if (l_setup) TK(l_setup(4, P1), SYS_io_setup, 4, P1);
  if (l_setup) TK(l_setup(0, &zero), SYS_io_setup, 0, &zero);
  if (l_destroy) TK(l_destroy(12345), SYS_io_destroy, 12345);
  if (l_submit) TK(l_submit(actx, 1, P1), SYS_io_submit, actx, 1, P1);
  if (l_submit) TK(l_submit(actx, 1, badlist), SYS_io_submit, actx, 1, badlist);
  if (l_submit) TK(l_submit(12345, 1, P1), SYS_io_submit, 12345, 1, P1);
  if (l_cancel) TK(l_cancel(actx, P1, P1), SYS_io_cancel, actx, P1, P1);

  T(syscall(-1), -1);
  T(syscall(100000), 100000);
}

int main(void) { return efault_main(); }
