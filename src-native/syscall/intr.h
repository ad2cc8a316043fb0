// System calls interrupted by a checkpoint (issue 10: the program cannot tell it was checkpointed).
//
// The suspend signal has a handler, so every blocking call that SA_RESTART does not cover (poll,
// select, epoll_wait, the nanosleep family, semop, msgrcv, sigtimedwait, sigsuspend, futex waits
// with a timeout, socket I/O with SO_RCVTIMEO ...: signal(7)) returns EINTR when a thread is
// stopped for a checkpoint; the calls SA_RESTART does cover are re-run by the kernel with the
// registers they had, which after a restart hold the previous run's kernel pids; and a call the
// kernel would resume through restart_syscall finds no restart_block in the restored task.
//
// We fix this below libc, on the registers, so raw system calls (static code, Go, a JIT) are
// covered as well as libc's wrappers:
//  1. record.cc, on the checkpoint thread: before signalling a thread, read what it is blocked
//     in from /proc/self/task/TID/syscall (number, six arguments, sp, pc).
//  2. record.cc, in the suspend handler (capture): the interrupted registers are in the signal
//     frame. -EINTR right after a `syscall` instruction at the recorded pc, with the recorded sp
//     and arguments, is our interruption; a `syscall` instruction at rip with its number in rax
//     is a call the kernel (or the thread) is about to run. Anything else is left alone.
//  3. rewind.cc, when the handler returns (resume): re-issue the call — in place (rax = number,
//     rip back onto the `syscall`) when its arguments stand, or through a trampoline
//     (tramp.S) when an argument must change (a relative timeout shortened by the time already
//     waited, a pid of the previous run, a deadline on another boot's CLOCK_MONOTONIC): the
//     trampoline runs the call with our arguments, then puts the application's registers back
//     and jumps to where the application was, so no register it relies on ever changes.
// Rules: capture and resume run in a signal handler with the rest of the process parked or being
// restored: raw system calls only (sys/sys.h), no allocation, no locks, no libc.
#ifndef AMBER_SYSCALL_INTR_H
#define AMBER_SYSCALL_INTR_H

#include <stdint.h>

namespace amber {
namespace intr {

struct Entry;  // a trampoline call in flight (rewind.cc)

// What a thread was doing when the suspend signal came, kept on the thread's own stack (the
// handler's frame) across the park and a restart.
struct Call {
  uint8_t how;          // NONE, REISSUE (interrupted: EINTR), PENDING (about to run)
  uint8_t tmo;          // timeout kind: none, relative, absolute
  uint8_t tmo_arg;      // argument index carrying the timeout
  uint8_t tmo_ms;       // 1: an int of milliseconds in the register; 0: a pointer to a timespec
  int32_t clock;        // absolute timeouts: their clock
  uint8_t nids;         // arguments that name a pid or tid (translated after a restart)
  uint8_t id_arg[2];
  uint8_t id_tid[2];    // 1: a thread id, 0: a pid (a negative one names a process group)
  int32_t id_app[2];    // the application's id for each
  long nr;              // the call to re-issue (restart_syscall already replaced)
  long raw_nr;          // what rax held (PENDING) or /proc said (REISSUE)
  uint64_t arg[6];      // rdi rsi rdx r10 r8 r9 at the interruption
  uint64_t ret_rip;     // where the application goes on once the call returns
  Entry* entry;         // non-null: the call already runs in our trampoline
  uint8_t sampled;      // PENDING: the thread was blocked in this very call when we looked (the
                        // kernel rewound it for SA_RESTART), not about to begin it
  int64_t t_int;        // CLOCK_MONOTONIC at the interruption
  int64_t deadline;     // relative timeouts: CLOCK_MONOTONIC deadline (a live resume)
  int64_t rem;          // relative timeouts: ns left at the interruption (after a restart)
  int64_t abs_ns;       // absolute timeouts: the deadline on `clock`
  // A transfer our signal cut short (record.cc): a blocking write, writev, sendto, sendmsg or
  // sendfile (or a recv with MSG_WAITALL) returns the bytes it moved when a signal interrupts it,
  // where without us it would have moved them all. It goes on with the rest; the bytes already
  // moved are added to what it returns.
  uint8_t cont;         // CONT_* (table.h): how the rest is described; 0: not a continuation
  uint8_t niov;         // CONT_IOV/CONT_MSG: entries of iov in use
  uint64_t done;        // bytes moved before (added to the result by the trampoline)
  uint64_t iov[2 * 8];  // CONT_IOV/CONT_MSG: the rest, as {base, len} pairs (CONT_BUF: one;
                        // CONT_COUNT: the count left in iov[0])
  uint64_t msg[7];      // CONT_MSG: the msghdr, its iovec the one above, no control data
};

// Checkpoint thread: record what thread `tid` (slot idx) is blocked in, then send it `sig`.
// Returns tgkill's result.
long signal_thread(uint32_t idx, int pid, int tid, int sig);

// Suspend handler, before the thread parks: what did the signal interrupt?
void capture(uint32_t idx, void* ucontext, Call* c);

// Checkpoint thread, every thread parked, the pid maps of this run in place, just before the
// release (a live resume or after a restart): fix what must be fixed before any thread runs —
// the owner tid in the word of a PI futex a parked thread was waiting on (rewind.cc).
void before_release();

// The agent's trampolines call this (in signal context) just before an application signal
// handler runs, with the ucontext the kernel passed: if that signal interrupted a system call with
// EINTR, the frame it returns to is tagged, so that the EINTR is never taken for ours (record.cc).
void app_handler_runs(void* ucontext);

// Suspend handler, after the release (a live resume, or restarted in a new kernel task): fix
// the registers in the signal frame so that rt_sigreturn resumes the call.
void resume(Call* c, void* ucontext, bool restarted);

}  // namespace intr
}  // namespace amber

#endif
