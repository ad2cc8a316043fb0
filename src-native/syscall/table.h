// Calls interrupted by a checkpoint: which calls we re-run and what their arguments mean. Shared by
// record.cc (capture) and rewind.cc (resume); internal to this folder.
#ifndef AMBER_SYSCALL_TABLE_H
#define AMBER_SYSCALL_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "syscall/intr.h"

namespace amber {
namespace intr {

enum : uint8_t { NONE = 0, REISSUE = 1, PENDING = 2 };
enum : uint8_t { TMO_NONE = 0, TMO_REL = 1, TMO_ABS = 2 };
// Transfers that go on after a signal cut them short (Call::cont): the rest is a buffer (args 1, 2),
// an iovec array (args 1, 2), or a msghdr (arg 1).
// sendfile's count (arg 3; the kernel has moved the offset, by pointer or the file's own, already).
enum : uint8_t { CONT_NONE = 0, CONT_BUF = 1, CONT_IOV = 2, CONT_MSG = 3, CONT_COUNT = 4 };
constexpr unsigned kContIov = 8;  // iovecs a continued writev/sendmsg may have (more: its short count stands)

// What kind of continuation call nr with these arguments allows: only blocking transfers that
// return a short count when a signal interrupts them (a write on a pipe or stream socket, a
// receive with MSG_WAITALL). Whether the descriptor blocks is asked at capture.
inline uint8_t cont_kind(long nr, const uint64_t* a) {
  constexpr uint64_t DONTWAIT = 0x40, WAITALL = 0x100;
  switch (nr) {
    case SYS_write: return CONT_BUF;
    case SYS_writev: return CONT_IOV;
    case SYS_sendto: return (a[3] & DONTWAIT) ? CONT_NONE : CONT_BUF;
    case SYS_sendmsg: return (a[2] & DONTWAIT) ? CONT_NONE : CONT_MSG;
    case SYS_sendfile: return CONT_COUNT;
    case SYS_recvfrom: return (a[3] & WAITALL) && !(a[3] & DONTWAIT) ? CONT_BUF : CONT_NONE;
    case SYS_recvmsg: return (a[2] & WAITALL) && !(a[2] & DONTWAIT) ? CONT_MSG : CONT_NONE;
    default: return CONT_NONE;
  }
}

// A relative timeout's deadline is counted from just after the signal was sent; a call entered in
// the instant between that and the signal's delivery could have begun later by the delivery
// latency. One millisecond more than asked covers it (a wait may always be longer: never shorter).
constexpr int64_t kMarginNs = 1000000;

struct Spec {
  bool reissue;      // may be run again after our EINTR
  uint8_t tmo;       // TMO_*
  uint8_t tmo_arg;   // the argument holding the timeout (value or pointer)
  uint8_t tmo_ms;    // 1: int milliseconds in the register; 0: pointer to a struct timespec
  int8_t rem_arg;    // nanosleep-like: the argument where the kernel wrote the time left (-1 none)
  int32_t clock;     // TMO_ABS: the clock of the deadline
  uint8_t nids;      // pid/tid arguments
  uint8_t id_arg[2];
  uint8_t id_tid[2];
};

// What call nr with these arguments is (x86-64 numbers).
inline Spec spec(long nr, const uint64_t* a) {
  Spec s{};
  s.rem_arg = -1;
  auto rel_ts = [&](int arg) {
    if (a[arg]) { s.tmo = TMO_REL; s.tmo_arg = (uint8_t)arg; }
  };
  auto abs_ts = [&](int arg, int clock) {
    if (a[arg]) { s.tmo = TMO_ABS; s.tmo_arg = (uint8_t)arg; s.clock = clock; }
  };
  auto id = [&](int arg, bool tid) {
    s.id_arg[s.nids] = (uint8_t)arg;
    s.id_tid[s.nids] = tid ? 1 : 0;
    s.nids++;
  };
  switch (nr) {
    // I/O that fails with EINTR only before any byte moved (sockets with SO_RCVTIMEO/SO_SNDTIMEO,
    // and the like): running it again is what the application would have seen without us.
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
    case SYS_pread64: case SYS_pwrite64: case SYS_preadv: case SYS_pwritev:
    case SYS_preadv2: case SYS_pwritev2:
    case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
    case SYS_recvmmsg: case SYS_sendmmsg: case SYS_sendfile:
    case SYS_accept: case SYS_accept4:
    // connect interrupted goes on in the background; run again, a blocking socket waits for it
    case SYS_connect:
    // no timeout, or one the kernel already shortened in place (select, pselect6, ppoll write
    // the time left back into their timeout argument)
    case SYS_select: case SYS_pselect6: case SYS_ppoll:
    case SYS_semop: case SYS_msgrcv: case SYS_msgsnd:
    case SYS_rt_sigsuspend: case SYS_pause:
    case SYS_mq_timedreceive: case SYS_mq_timedsend:  // absolute CLOCK_REALTIME deadlines
    case SYS_futex_waitv:                             // absolute deadline
    case SYS_flock: case SYS_getrandom:
      s.reissue = true;
      break;
    case SYS_poll:
      s.reissue = true;
      if ((int32_t)a[2] >= 0) { s.tmo = TMO_REL; s.tmo_arg = 2; s.tmo_ms = 1; }
      break;
    case SYS_epoll_wait: case SYS_epoll_pwait:
      s.reissue = true;
      if ((int32_t)a[3] >= 0) { s.tmo = TMO_REL; s.tmo_arg = 3; s.tmo_ms = 1; }
      break;
    case SYS_epoll_pwait2: s.reissue = true; rel_ts(3); break;
    case SYS_nanosleep:
      s.reissue = true;
      rel_ts(0);
      s.rem_arg = 1;
      break;
    case SYS_clock_nanosleep:
      s.reissue = true;
      if (a[1] & 1 /*TIMER_ABSTIME*/) {
        abs_ts(2, (int)a[0]);
      } else {
        rel_ts(2);
        s.rem_arg = 3;
      }
      break;
    case SYS_semtimedop: s.reissue = true; rel_ts(3); break;
    case SYS_rt_sigtimedwait: s.reissue = true; rel_ts(2); break;
    case SYS_io_getevents: case SYS_io_pgetevents: s.reissue = true; rel_ts(4); break;
    case SYS_futex: {
      int op = (int)(a[1] & 0x7f);              // without FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME
      int clock = (a[1] & 256) ? 0 /*REALTIME*/ : 1 /*MONOTONIC*/;
      // FUTEX_WAIT: relative, unless FUTEX_CLOCK_REALTIME makes it an absolute deadline (4.5+)
      if (op == 0 /*FUTEX_WAIT*/) { s.reissue = true; if (a[1] & 256) abs_ts(3, 0); else rel_ts(3); }
      else if (op == 9 /*WAIT_BITSET*/ || op == 11 /*WAIT_REQUEUE_PI*/) { s.reissue = true; abs_ts(3, clock); }
      else if (op == 6 /*LOCK_PI: always CLOCK_REALTIME*/) { s.reissue = true; abs_ts(3, 0); }
      else if (op == 13 /*LOCK_PI2*/) { s.reissue = true; abs_ts(3, clock); }
      break;
    }
    // Calls that carry kernel ids: the kernel re-runs them (SA_RESTART) with the registers they
    // had, which after a restart name the previous run's pids.
    case SYS_wait4: s.reissue = true; id(0, false); break;
    case SYS_waitid:
      s.reissue = true;
      if (a[0] == 1 /*P_PID*/ || a[0] == 2 /*P_PGID*/) id(1, false);
      break;
    case SYS_kill: case SYS_rt_sigqueueinfo: case SYS_pidfd_open: case SYS_getpgid: case SYS_getsid:
      id(0, false);
      break;
    case SYS_setpgid: id(0, false); id(1, false); break;
    case SYS_tkill: id(0, true); break;
    case SYS_tgkill: case SYS_rt_tgsigqueueinfo: id(0, false); id(1, true); break;
    case SYS_sched_setaffinity: case SYS_sched_getaffinity: case SYS_sched_setscheduler:
    case SYS_sched_getscheduler: case SYS_sched_setparam: case SYS_sched_getparam:
    case SYS_sched_rr_get_interval: case SYS_sched_setattr: case SYS_sched_getattr:
    case SYS_prlimit64: case SYS_process_vm_readv: case SYS_process_vm_writev:
      id(0, true);
      break;
    case SYS_kcmp: id(0, true); id(1, true); break;
    case SYS_ptrace: id(1, true); break;
    case SYS_getpriority: case SYS_setpriority:
      if (a[0] == 0 /*PRIO_PROCESS*/) id(1, true);
      else if (a[0] == 1 /*PRIO_PGRP*/) id(1, false);
      break;
    case SYS_ioprio_get: case SYS_ioprio_set:
      if (a[0] == 1 /*IOPRIO_WHO_PROCESS*/) id(1, true);
      else if (a[0] == 2 /*IOPRIO_WHO_PGRP*/) id(1, false);
      break;
    default:
      break;
  }
  return s;
}

// record.cc
int64_t mono_ns();
void read_boot_id(char* out, size_t cap);
extern char g_ckpt_boot[40];

// rewind.cc: a thread parked while waiting for a PI futex (FUTEX_LOCK_PI/LOCK_PI2): its owner.
void note_pi_waiter(uint32_t idx, uint64_t uaddr);

// rewind.cc: the trampoline's calls in flight.
Entry* tramp_entry(uint64_t rip, uint64_t rsp);  // the entry of a call interrupted in the trampoline
uint64_t tramp_sys_addr();
long entry_nr(const Entry* e);
uint64_t entry_rip(const Entry* e);
int64_t entry_deadline(const Entry* e);
uint64_t entry_add(const Entry* e);

}  // namespace intr
}  // namespace amber

#endif
