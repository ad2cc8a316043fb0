/* The scheduling, limit, clock and process-control wrappers (sched_*, getrlimit, setrlimit,
 * prlimit, getrusage, times, clock_*, pthread_getcpuclockid, prctl, capset) on invalid pointers,
 * pids and values: the kernel's answer, before the checkpoint and after the restart. The agent
 * keeps RLIMIT_FSIZE virtual and offsets CPU-time clocks and getrusage after a restart: those are
 * the paths that write the caller's memory themselves. */
#include "efault.h"
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/timex.h>
#include <limits.h>

int capget(void* hdr, void* data); /* glibc exports it; no glibc header declares it */

/* the clock id of a process's (2) or thread's (6) CPU clock, as glibc makes it */
#define CPUCLK(pid) ((clockid_t)((~(unsigned)(pid)) << 3))

static void checks(void) {
  cpu_set_t cs;
  struct sched_param sp = {0};
  struct rlimit rl;
  struct rusage ru;
  struct timespec ts;
  clockid_t cid;

  /* sched_* */
  T(sched_getaffinity(BADPID, sizeof cs, &cs), SYS_sched_getaffinity, BADPID, sizeof cs, &cs);
  T(sched_getaffinity(0, sizeof cs, P1), SYS_sched_getaffinity, 0, sizeof cs, P1);
  T(sched_getaffinity(0, sizeof cs, P_RO), SYS_sched_getaffinity, 0, sizeof cs, P_RO);
  T(sched_getaffinity(0, 0, &cs), SYS_sched_getaffinity, 0, 0, &cs);
  T(sched_getaffinity(0, 3, &cs), SYS_sched_getaffinity, 0, 3, &cs);
  T(sched_getaffinity(-1, sizeof cs, &cs), SYS_sched_getaffinity, -1, sizeof cs, &cs);
  T(sched_setaffinity(0, sizeof cs, P1), SYS_sched_setaffinity, 0, sizeof cs, P1);
  T(sched_setaffinity(0, sizeof cs, P_NONE), SYS_sched_setaffinity, 0, sizeof cs, P_NONE);
  T(sched_setaffinity(BADPID, sizeof cs, &cs), SYS_sched_setaffinity, BADPID, sizeof cs, &cs);
  CPU_ZERO(&cs);
  T(sched_setaffinity(0, sizeof cs, &cs), SYS_sched_setaffinity, 0, sizeof cs, &cs);
  T(sched_getparam(0, P1), SYS_sched_getparam, 0, P1);
  T(sched_getparam(0, P_RO), SYS_sched_getparam, 0, P_RO);
  T(sched_getparam(BADPID, &sp), SYS_sched_getparam, BADPID, &sp);
  T(sched_getparam(-1, &sp), SYS_sched_getparam, -1, &sp);
  T(sched_setparam(0, P1), SYS_sched_setparam, 0, P1);
  T(sched_setparam(BADPID, &sp), SYS_sched_setparam, BADPID, &sp);
  T(sched_setparam(-1, &sp), SYS_sched_setparam, -1, &sp);
  T(sched_setscheduler(0, SCHED_OTHER, P1), SYS_sched_setscheduler, 0, SCHED_OTHER, P1);
  T(sched_setscheduler(0, 99, &sp), SYS_sched_setscheduler, 0, 99, &sp);
  T(sched_setscheduler(BADPID, SCHED_OTHER, &sp), SYS_sched_setscheduler, BADPID, SCHED_OTHER, &sp);
  T(sched_setscheduler(-1, SCHED_OTHER, &sp), SYS_sched_setscheduler, -1, SCHED_OTHER, &sp);
  T(sched_getscheduler(BADPID), SYS_sched_getscheduler, BADPID);
  T(sched_getscheduler(-1), SYS_sched_getscheduler, -1);
  T(sched_rr_get_interval(0, P1), SYS_sched_rr_get_interval, 0, P1);
  T(sched_rr_get_interval(BADPID, &ts), SYS_sched_rr_get_interval, BADPID, &ts);
  T(sched_rr_get_interval(-1, &ts), SYS_sched_rr_get_interval, -1, &ts);
  T(sched_get_priority_max(99), SYS_sched_get_priority_max, 99);
  T(sched_get_priority_min(-1), SYS_sched_get_priority_min, -1);
  T(syscall(SYS_sched_getattr, 0, P1, 48, 0), SYS_sched_getattr, 0, P1, 48, 0);
  T(syscall(SYS_sched_getattr, BADPID, &sp, 48, 0), SYS_sched_getattr, BADPID, &sp, 48, 0);
  T(syscall(SYS_sched_setattr, 0, P1, 0), SYS_sched_setattr, 0, P1, 0);
  T(syscall(SYS_sched_setattr, BADPID, P1, 0), SYS_sched_setattr, BADPID, P1, 0);

  /* limits */
  T(getrlimit(RLIMIT_FSIZE, P1), SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, P1);
  T(getrlimit(RLIMIT_FSIZE, P_RO), SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, P_RO);
  T(getrlimit(RLIMIT_NOFILE, P1), SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, P1);
  T(getrlimit(999, &rl), SYS_prlimit64, 0, 999, NULL, &rl);
  T(getrlimit(-1, &rl), SYS_prlimit64, 0, -1, NULL, &rl);
  T(setrlimit(RLIMIT_FSIZE, P1), SYS_prlimit64, 0, RLIMIT_FSIZE, P1, NULL);
  T(setrlimit(RLIMIT_FSIZE, P_NONE), SYS_prlimit64, 0, RLIMIT_FSIZE, P_NONE, NULL);
  T(setrlimit(RLIMIT_NOFILE, NULL), SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL);
  T(setrlimit(999, &rl), SYS_prlimit64, 0, 999, &rl, NULL);
  struct rlimit inv = {100, 10};
  T(setrlimit(RLIMIT_FSIZE, &inv), SYS_prlimit64, 0, RLIMIT_FSIZE, &inv, NULL);
  T(setrlimit(RLIMIT_CORE, &inv), SYS_prlimit64, 0, RLIMIT_CORE, &inv, NULL);
  T(prlimit(0, RLIMIT_FSIZE, NULL, P1), SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, P1);
  T(prlimit(0, RLIMIT_FSIZE, P1, NULL), SYS_prlimit64, 0, RLIMIT_FSIZE, P1, NULL);
  T(prlimit(0, RLIMIT_FSIZE, &inv, &rl), SYS_prlimit64, 0, RLIMIT_FSIZE, &inv, &rl);
  T(prlimit(0, RLIMIT_FSIZE, &inv, P_RO), SYS_prlimit64, 0, RLIMIT_FSIZE, &inv, P_RO);
  T(prlimit(0, RLIMIT_NOFILE, NULL, P_UNMAPPED), SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, P_UNMAPPED);
  T(prlimit(BADPID, RLIMIT_NOFILE, NULL, &rl), SYS_prlimit64, BADPID, RLIMIT_NOFILE, NULL, &rl);
  T(prlimit(BADPID, RLIMIT_FSIZE, NULL, P1), SYS_prlimit64, BADPID, RLIMIT_FSIZE, NULL, P1);
  T(prlimit(-1, RLIMIT_FSIZE, NULL, &rl), SYS_prlimit64, -1, RLIMIT_FSIZE, NULL, &rl);
  T(prlimit(0, 999, NULL, &rl), SYS_prlimit64, 0, 999, NULL, &rl);
  T(syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, P1), SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, P1);
  T(syscall(SYS_getrlimit, RLIMIT_FSIZE, P1), SYS_getrlimit, RLIMIT_FSIZE, P1);
  T(syscall(SYS_setrlimit, RLIMIT_FSIZE, P1), SYS_setrlimit, RLIMIT_FSIZE, P1);

  /* resource usage and CPU time */
  T(getrusage(RUSAGE_SELF, P1), SYS_getrusage, RUSAGE_SELF, P1);
  T(getrusage(RUSAGE_SELF, P_RO), SYS_getrusage, RUSAGE_SELF, P_RO);
  T(getrusage(RUSAGE_CHILDREN, P_NONE), SYS_getrusage, RUSAGE_CHILDREN, P_NONE);
  T(getrusage(RUSAGE_THREAD, NULL), SYS_getrusage, RUSAGE_THREAD, NULL);
  T(getrusage(99, &ru), SYS_getrusage, 99, &ru);
  T(syscall(SYS_getrusage, RUSAGE_SELF, P1), SYS_getrusage, RUSAGE_SELF, P1);
  T(syscall(SYS_times, P1), SYS_times, P1);
  T(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, P1), SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, P1);
  T(clock_gettime(CLOCK_THREAD_CPUTIME_ID, P_RO), SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, P_RO);
  T(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, NULL), SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, NULL);
  T(clock_gettime(99, &ts), SYS_clock_gettime, 99, &ts);
  T(clock_gettime(-5 * 8 - 2, &ts), SYS_clock_gettime, -5 * 8 - 2, &ts);
  T(clock_gettime(CPUCLK(BADPID) | 2, &ts), SYS_clock_gettime, CPUCLK(BADPID) | 2, &ts);
  T(clock_gettime(CPUCLK(BADPID) | 6, &ts), SYS_clock_gettime, CPUCLK(BADPID) | 6, &ts);
  T(clock_getres(CLOCK_PROCESS_CPUTIME_ID, P1), SYS_clock_getres, CLOCK_PROCESS_CPUTIME_ID, P1);
  T(clock_getres(99, &ts), SYS_clock_getres, 99, &ts);
  T(clock_getres(CPUCLK(BADPID) | 2, &ts), SYS_clock_getres, CPUCLK(BADPID) | 2, &ts);
  T(syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, P1), SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, P1);
  T(syscall(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, P_NONE), SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, P_NONE);
  TEN(clock_getcpuclockid(BADPID, &cid), ESRCH); /* glibc turns the kernel's EINVAL into ESRCH */
  T(syscall(SYS_clock_settime, CLOCK_REALTIME, P1), SYS_clock_settime, CLOCK_REALTIME, P1);
  T(clock_settime(CLOCK_PROCESS_CPUTIME_ID, &ts), SYS_clock_settime, CLOCK_PROCESS_CPUTIME_ID, &ts);
  T(clock_settime(99, &ts), SYS_clock_settime, 99, &ts);
  struct timespec bad = {0, 2000000000L};
  TN(clock_nanosleep(99, 0, &bad, NULL), SYS_clock_nanosleep, 99, 0, &bad, NULL);
  TN(clock_nanosleep(CLOCK_MONOTONIC, 0, P1, NULL), SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, P1, NULL);
  TN(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL);
  TN(clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, P_NONE, NULL), SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, P_NONE, NULL);
  TEN(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &bad, NULL), EINVAL);
  TEN(pthread_getcpuclockid(pthread_self(), &cid), 0);
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  T(clock_adjtime(99, &tx), SYS_clock_adjtime, 99, &tx);
  T(clock_adjtime(CLOCK_REALTIME, P1), SYS_clock_adjtime, CLOCK_REALTIME, P1);

  /* prctl */
  T(prctl(9999, 0, 0, 0, 0), SYS_prctl, 9999, 0, 0, 0, 0);
  T(prctl(PR_GET_NAME, P1), SYS_prctl, PR_GET_NAME, P1);
  T(prctl(PR_GET_NAME, P_RO), SYS_prctl, PR_GET_NAME, P_RO);
  T(prctl(PR_SET_NAME, P1), SYS_prctl, PR_SET_NAME, P1);
  T(prctl(PR_SET_NAME, NULL), SYS_prctl, PR_SET_NAME, NULL);
  T(prctl(PR_GET_PDEATHSIG, P1), SYS_prctl, PR_GET_PDEATHSIG, P1);
  T(prctl(PR_SET_PDEATHSIG, 999), SYS_prctl, PR_SET_PDEATHSIG, 999);
  T(prctl(PR_GET_CHILD_SUBREAPER, P1), SYS_prctl, PR_GET_CHILD_SUBREAPER, P1);
  T(prctl(PR_GET_TID_ADDRESS, P1), SYS_prctl, PR_GET_TID_ADDRESS, P1);
  T(prctl(PR_GET_TID_ADDRESS, P_RO), SYS_prctl, PR_GET_TID_ADDRESS, P_RO);
  T(prctl(PR_SET_PTRACER, BADPID), SYS_prctl, PR_SET_PTRACER, BADPID);
  T(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, P1), SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, P1);
  T(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL), SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL);
  T(prctl(PR_SET_SECCOMP, 99, 0), SYS_prctl, PR_SET_SECCOMP, 99, 0);
  T(prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0), SYS_prctl, PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0);
  T(prctl(PR_SET_MM, 999, 0, 0, 0), SYS_prctl, PR_SET_MM, 999, 0, 0, 0);
  T(prctl(PR_SET_TIMERSLACK, 0, 1, 0, 0), SYS_prctl, PR_SET_TIMERSLACK, 0, 1, 0, 0);
  T(prctl(PR_CAPBSET_READ, 999), SYS_prctl, PR_CAPBSET_READ, 999);
  T(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), SYS_prctl, PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0);
  T(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0);
  T(prctl(PR_SET_DUMPABLE, 7), SYS_prctl, PR_SET_DUMPABLE, 7);
  T(prctl(PR_SET_CHILD_SUBREAPER, 0, 1), SYS_prctl, PR_SET_CHILD_SUBREAPER, 0, 1);
  T(syscall(SYS_seccomp, 1, 0, P1), SYS_seccomp, 1, 0, P1);
  T(syscall(SYS_seccomp, 1, 0, NULL), SYS_seccomp, 1, 0, NULL);
  T(syscall(SYS_seccomp, 99, 0, NULL), SYS_seccomp, 99, 0, NULL);

  /* capset */
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  T(syscall(SYS_capset, P1, P1), SYS_capset, P1, P1);
  T(syscall(SYS_capset, NULL, NULL), SYS_capset, NULL, NULL);
  T(syscall(SYS_capset, &h, P1), SYS_capset, &h, P1);
  T(syscall(SYS_capset, &h, NULL), SYS_capset, &h, NULL);
  h.pid = BADPID;
  T(syscall(SYS_capset, &h, d), SYS_capset, &h, d);
  h.pid = 0;
  /* a version the kernel does not know: EINVAL (it writes the one it prefers back) */
  h.version = 0x12345;
  TE(syscall(SYS_capset, &h, d), EINVAL);
  h.version = 0x12345;
  TE(syscall(SYS_capset, &h, NULL), EINVAL);

  /* capget (the wrapper translates the header's pid), through syscall(2) */
  h.version = _LINUX_CAPABILITY_VERSION_3;
  h.pid = 0;
  T(syscall(SYS_capget, P1, P1), SYS_capget, P1, P1);
  T(syscall(SYS_capget, NULL, NULL), SYS_capget, NULL, NULL);
  T(syscall(SYS_capget, &h, P1), SYS_capget, &h, P1);
  T(syscall(SYS_capget, &h, NULL), SYS_capget, &h, NULL);
  h.pid = BADPID;
  T(syscall(SYS_capget, &h, d), SYS_capget, &h, d);
  h.pid = 0;
  /* glibc's capget function (libcap calls it), interposed too */
  T(capget(P1, P1), SYS_capget, P1, P1);
  T(capget(&h, P1), SYS_capget, &h, P1);
  h.pid = BADPID;
  T(capget(&h, d), SYS_capget, &h, d);
  h.pid = 0;
  h.version = 0x12345;
  TE(syscall(SYS_capget, &h, d), EINVAL);

  /* get_robust_list (a task id, translated) */
  void* head = NULL;
  size_t hlen = 0;
  T(syscall(SYS_get_robust_list, 0, P1, P1), SYS_get_robust_list, 0, P1, P1);
  T(syscall(SYS_get_robust_list, 0, &head, P1), SYS_get_robust_list, 0, &head, P1);
  T(syscall(SYS_get_robust_list, BADPID, &head, &hlen), SYS_get_robust_list, BADPID, &head, &hlen);
  T(syscall(SYS_get_robust_list, INT_MIN, &head, &hlen), SYS_get_robust_list, INT_MIN, &head, &hlen);
}

int main(void) { return efault_main(); }
