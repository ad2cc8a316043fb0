/* The wait and pid wrappers (wait, waitpid, wait4, waitid, getpgid, getsid, setpgid, getpriority,
 * setpriority, pidfd_open, process_vm_readv/writev, tcgetpgrp, tcsetpgrp, tcgetsid) on invalid
 * pointers, pids and flags: the kernel's answer, before the checkpoint and after the restart. A
 * wait whose status or siginfo pointer is bad still reaps the child (the kernel's EFAULT comes after
 * it took the zombie): each such case has a fresh pair of zombies, one for glibc, one for the
 * kernel. */
#include "efault.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <termios.h>

/* the clock id of a process's CPU clock, as glibc makes it */
#define CPUCLK(pid) ((clockid_t)((~(unsigned)(pid)) << 3))

static void checks(void) {
  int st;
  siginfo_t si;
  struct rusage ru;

  /* no such child */
  T(waitpid(BADPID, &st, 0), SYS_wait4, BADPID, &st, 0, NULL);
  T(waitpid(-BADPID, &st, 0), SYS_wait4, -BADPID, &st, 0, NULL);
  T(waitpid(BADPID, P1, 0), SYS_wait4, BADPID, P1, 0, NULL);
  T(waitpid(-1, &st, 0x40000000), SYS_wait4, -1, &st, 0x40000000, NULL);
  T(waitpid(-1, &st, -1), SYS_wait4, -1, &st, -1, NULL);
  T(waitpid(-2147483647 - 1, &st, 0), SYS_wait4, -2147483647 - 1, &st, 0, NULL);
  T(wait4(BADPID, &st, 0, P1), SYS_wait4, BADPID, &st, 0, P1);
  T(wait4(-1, &st, 0x40000000, &ru), SYS_wait4, -1, &st, 0x40000000, &ru);
  T(waitid(P_PID, BADPID, &si, WEXITED), SYS_waitid, P_PID, BADPID, &si, WEXITED, NULL);
  T(waitid(P_PGID, BADPID, &si, WEXITED), SYS_waitid, P_PGID, BADPID, &si, WEXITED, NULL);
  T(waitid(99, 0, &si, WEXITED), SYS_waitid, 99, 0, &si, WEXITED, NULL);
  T(waitid(P_ALL, 0, &si, 0), SYS_waitid, P_ALL, 0, &si, 0, NULL);
  T(waitid(P_ALL, 0, &si, 0x40000000 | WEXITED), SYS_waitid, P_ALL, 0, &si, 0x40000000 | WEXITED, NULL);
  T(waitid(P_PIDFD, 12345, &si, WEXITED), SYS_waitid, P_PIDFD, 12345, &si, WEXITED, NULL);
  T(waitid(P_PID, 0, &si, WEXITED), SYS_waitid, P_PID, 0, &si, WEXITED, NULL);
  T(waitid(P_PID, BADPID, P1, WEXITED), SYS_waitid, P_PID, BADPID, P1, WEXITED, NULL);
  T(wait(&st), SYS_wait4, -1, &st, 0, NULL);
  T(wait(P1), SYS_wait4, -1, P1, 0, NULL);

  /* a zombie, a bad pointer for what the kernel writes back */
  TZ(waitpid(z, P1, 0), RAW(SYS_wait4, z, P1, 0, NULL));
  TZ(waitpid(z, P_RO, 0), RAW(SYS_wait4, z, P_RO, 0, NULL));
  TZ(waitpid(-1, P_NONE, 0), RAW(SYS_wait4, -1, P_NONE, 0, NULL));
  TZ(waitpid(z, P_UNMAPPED, WNOHANG), RAW(SYS_wait4, z, P_UNMAPPED, WNOHANG, NULL));
  TZ(wait(P_RO), RAW(SYS_wait4, -1, P_RO, 0, NULL));
  TZ(wait4(z, &st, 0, P1), RAW(SYS_wait4, z, &st, 0, P1));
  TZ(wait4(-1, P_RO, 0, &ru), RAW(SYS_wait4, -1, P_RO, 0, &ru));
  TZ(wait4(z, NULL, 0, P_RO), RAW(SYS_wait4, z, NULL, 0, P_RO));
  TZ(waitid(P_PID, (id_t)z, P1, WEXITED), RAW(SYS_waitid, P_PID, z, P1, WEXITED, NULL));
  TZ(waitid(P_ALL, 0, P_RO, WEXITED), RAW(SYS_waitid, P_ALL, 0, P_RO, WEXITED, NULL));
  TZ(waitid(P_PID, (id_t)z, P_NONE, WEXITED | WNOWAIT), RAW(SYS_waitid, P_PID, z, P_NONE, WEXITED | WNOWAIT, NULL));
  TZ(waitid(P_PGID, 0, P_UNMAPPED, WEXITED), RAW(SYS_waitid, P_PGID, 0, P_UNMAPPED, WEXITED, NULL));
  TZ(syscall(SYS_waitid, P_PID, z, &si, WEXITED, P1), RAW(SYS_waitid, P_PID, z, &si, WEXITED, P1));
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }

  /* process groups and sessions */
  T(getpgid(BADPID), SYS_getpgid, BADPID);
  T(getpgid(-1), SYS_getpgid, -1);
  T(getsid(BADPID), SYS_getsid, BADPID);
  T(getsid(-1), SYS_getsid, -1);
  T(setpgid(BADPID, 0), SYS_setpgid, BADPID, 0);
  T(setpgid(0, -1), SYS_setpgid, 0, -1);
  T(setpgid(-1, 0), SYS_setpgid, -1, 0);
  TE(setpgid(getpid(), BADPID), EPERM);
  TE(setpgid(1, 1), ESRCH);

  /* our own ids, as getpid/gettid/getpgrp give them: after a restart the kernel's differ */
  pid_t me = getpid(), tid = gettid(), pg = getpgrp();
  struct sched_param spm;
  cpu_set_t cs;
  struct rlimit rl;
  union sigval sv = {.sival_int = 0};
  clockid_t ck;
  TE(getpgid(me) == pg ? 0 : -1, 0);
  TE(getsid(me) == getsid(0) ? 0 : -1, 0);
  TE(sched_getparam(me, &spm), 0);
  TE(sched_getscheduler(tid), 0);
  TE(sched_getaffinity(tid, sizeof cs, &cs), 0);
  TE(sched_setaffinity(me, sizeof cs, &cs), 0);
  TE(getpriority(PRIO_PROCESS, (id_t)tid) == getpriority(PRIO_PROCESS, 0) ? 0 : -1, 0);
  TE(getpriority(PRIO_PGRP, (id_t)pg) == getpriority(PRIO_PGRP, 0) ? 0 : -1, 0);
  TE(setpriority(PRIO_PROCESS, (id_t)me, getpriority(PRIO_PROCESS, 0)), 0);
  TE(prlimit(me, RLIMIT_NOFILE, NULL, &rl), 0);
  TE(kill(me, 0), 0);
  TE(kill(-pg, 0), 0);
  TE(tgkill(me, tid, 0), 0);
  TE(sigqueue(me, 0, sv), 0);
  TE(syscall(SYS_tkill, tid, 0), 0);
  TE(syscall(SYS_kcmp, me, me, 0 /*KCMP_FILE*/, 0, 0), 0);
  TE(syscall(SYS_ioprio_get, 1, me) >= 0 ? 0 : -1, 0);
  TE(clock_getcpuclockid(me, &ck) == 0 && clock_gettime(ck, &(struct timespec){0, 0}) == 0 ? 0 : -1, 0);
  int pfd = pidfd_open(me, 0);
  TE(pfd >= 0 ? 0 : -1, 0);
  if (pfd >= 0) {
    TE(syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0), 0);
    close(pfd);
  }
  char src1[8] = "x", dst1[8];
  struct iovec lv = {dst1, 1}, rv = {src1, 1};
  TE(process_vm_readv(me, &lv, 1, &rv, 1, 0) == 1 ? 0 : -1, 0);
  TE(waitid(P_PGID, (id_t)pg, &si, WEXITED | WNOHANG), ECHILD);
  TE(waitpid(me, &st, WNOHANG), ECHILD);

  /* the edges of a pid: INT_MIN (whose negation overflows), INT_MAX, -1 */
  struct timespec tsx;
  siginfo_t qi; /* as glibc's sigqueue fills it */
  memset(&qi, 0, sizeof qi);
  qi.si_code = SI_QUEUE;
  qi.si_pid = getpid();
  qi.si_uid = getuid();
  void* rh;
  size_t rlen;
  static const int edges[] = {-2147483647 - 1, 2147483647, -1, -2147483647};
  for (volatile unsigned i = 0; i < sizeof edges / sizeof edges[0]; i++) {
    int e = edges[i];
    T(kill(e, 0), SYS_kill, e, 0);
    T(waitpid(e, &st, WNOHANG), SYS_wait4, e, &st, WNOHANG, NULL);
    T(getpgid(e), SYS_getpgid, e);
    T(getsid(e), SYS_getsid, e);
    T(setpgid(e, 0), SYS_setpgid, e, 0);
    T(setpgid(0, e), SYS_setpgid, 0, e);
    T(sched_getscheduler(e), SYS_sched_getscheduler, e);
    T(sched_getparam(e, &spm), SYS_sched_getparam, e, &spm);
    T(sched_getaffinity(e, sizeof cs, &cs), SYS_sched_getaffinity, e, sizeof cs, &cs);
    T(prlimit(e, RLIMIT_NOFILE, NULL, &rl), SYS_prlimit64, e, RLIMIT_NOFILE, NULL, &rl);
    T(pidfd_open(e, 0), SYS_pidfd_open, e, 0);
    T(process_vm_readv(e, &lv, 1, &rv, 1, 0), SYS_process_vm_readv, e, &lv, 1, &rv, 1, 0);
    T(getpriority(PRIO_PROCESS, (id_t)e), SYS_getpriority, PRIO_PROCESS, e);
    T(getpriority(PRIO_PGRP, (id_t)e), SYS_getpriority, PRIO_PGRP, e);
    T(setpriority(PRIO_PGRP, (id_t)e, 0), SYS_setpriority, PRIO_PGRP, e, 0);
    T(tgkill(e, e, 0), SYS_tgkill, e, e, 0);
    T(tgkill(e, 1, 0), SYS_tgkill, e, 1, 0);
    T(syscall(SYS_tkill, e, 0), SYS_tkill, e, 0);
    T(sigqueue(e, 0, sv), SYS_rt_sigqueueinfo, e, 0, &qi);
    T(waitid(P_PID, (id_t)e, &si, WEXITED | WNOHANG), SYS_waitid, P_PID, e, &si, WEXITED | WNOHANG, NULL);
    T(waitid(P_PGID, (id_t)e, &si, WEXITED | WNOHANG), SYS_waitid, P_PGID, e, &si, WEXITED | WNOHANG, NULL);
    T(syscall(SYS_ioprio_get, 1, e), SYS_ioprio_get, 1, e);
    T(syscall(SYS_ioprio_get, 2, e), SYS_ioprio_get, 2, e);
    T(syscall(SYS_kcmp, e, e, 0, 0, 0), SYS_kcmp, e, e, 0, 0, 0);
    T(clock_gettime(CPUCLK(e) | 2, &tsx), SYS_clock_gettime, CPUCLK(e) | 2, &tsx);
    T(syscall(SYS_get_robust_list, e, &rh, &rlen), SYS_get_robust_list, e, &rh, &rlen);
  }

  /* priorities */
  T(getpriority(PRIO_PROCESS, BADPID), SYS_getpriority, PRIO_PROCESS, BADPID);
  T(getpriority(PRIO_PGRP, BADPID), SYS_getpriority, PRIO_PGRP, BADPID);
  T(getpriority(99, 0), SYS_getpriority, 99, 0);
  T(setpriority(PRIO_PROCESS, BADPID, 0), SYS_setpriority, PRIO_PROCESS, BADPID, 0);
  T(setpriority(PRIO_PGRP, BADPID, 0), SYS_setpriority, PRIO_PGRP, BADPID, 0);
  T(setpriority(99, 0, 0), SYS_setpriority, 99, 0, 0);

  /* pidfd_open */
  T(syscall(SYS_pidfd_open, BADPID, 0), SYS_pidfd_open, BADPID, 0);
  T(syscall(SYS_pidfd_open, -1, 0), SYS_pidfd_open, -1, 0);
  T(syscall(SYS_pidfd_open, 0, 0), SYS_pidfd_open, 0, 0);
  TE(syscall(SYS_pidfd_open, getpid(), 0xff), EINVAL);
  T(pidfd_open(BADPID, 0), SYS_pidfd_open, BADPID, 0);
  TE(pidfd_open(getpid(), 0x7f), EINVAL);

  /* process_vm_readv / writev */
  char buf[16] = {0}, src[16] = "abc";
  struct iovec l = {buf, sizeof buf}, r = {src, sizeof src}, rbad = {P1, 8}, rnone = {P_NONE, 8};
  T(process_vm_readv(BADPID, &l, 1, &r, 1, 0), SYS_process_vm_readv, BADPID, &l, 1, &r, 1, 0);
  T(process_vm_readv(0, &l, 1, &r, 1, 0), SYS_process_vm_readv, 0, &l, 1, &r, 1, 0);
  T(process_vm_writev(BADPID, &l, 1, &r, 1, 0), SYS_process_vm_writev, BADPID, &l, 1, &r, 1, 0);
  TE(process_vm_readv(getpid(), &l, 1, &r, 1, 1), EINVAL);
  TE(process_vm_readv(getpid(), P1, 1, &r, 1, 0), EFAULT);
  TE(process_vm_readv(getpid(), &l, 1, P_NONE, 1, 0), EFAULT);
  TE(process_vm_readv(getpid(), &l, 1, &rbad, 1, 0), EFAULT);
  TE(process_vm_writev(getpid(), &l, 1, &rnone, 1, 0), EFAULT);
  TE(process_vm_readv(getpid(), &l, 1, &r, 1 << 20, 0), EINVAL);

  /* terminal process groups on descriptors that are not terminals */
  int fd = SYS(open("/dev/null", O_RDONLY));
  T(tcgetpgrp(-1), SYS_ioctl, -1, TIOCGPGRP, &st);
  T(tcgetpgrp(fd), SYS_ioctl, fd, TIOCGPGRP, &st);
  T(tcgetpgrp(12345), SYS_ioctl, 12345, TIOCGPGRP, &st);
  pg = 1;
  T(tcsetpgrp(-1, 1), SYS_ioctl, -1, TIOCSPGRP, &pg);
  T(tcsetpgrp(fd, 1), SYS_ioctl, fd, TIOCSPGRP, &pg);
  T(tcgetsid(-1), SYS_ioctl, -1, TIOCGSID, &st);
  T(tcgetsid(fd), SYS_ioctl, fd, TIOCGSID, &st);
  T(ioctl(fd, TIOCGPGRP, P1), SYS_ioctl, fd, TIOCGPGRP, P1);
  T(ioctl(-1, TIOCGSID, P1), SYS_ioctl, -1, TIOCGSID, P1);
  close(fd);
  /* a pty master: TIOCGPGRP on a master writes the slave's group (EFAULT here) */
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m >= 0) {
    T(ioctl(m, TIOCGPGRP, P1), SYS_ioctl, m, TIOCGPGRP, P1);
    T(ioctl(m, TIOCGPGRP, P_RO), SYS_ioctl, m, TIOCGPGRP, P_RO);
    T(ioctl(m, TIOCSPGRP, P1), SYS_ioctl, m, TIOCSPGRP, P1);
    T(ioctl(m, TIOCGSID, P1), SYS_ioctl, m, TIOCGSID, P1);
    T(ioctl(m, TIOCSPGRP, &pg), SYS_ioctl, m, TIOCSPGRP, &pg);
    T(tcgetpgrp(m), SYS_ioctl, m, TIOCGPGRP, &st);
    close(m);
  }
}

int main(void) { return efault_main(); }
