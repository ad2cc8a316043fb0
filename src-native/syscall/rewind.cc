// Calls interrupted by a checkpoint, part 2: put the call back (see intr.h).
//
// Runs at the end of the suspend handler, after the release: on a live resume in the same kernel
// task, after a restart in the restorer's new task (the handler's frame, and the Call captured in
// it, came back with the stack). Whatever rax and rip say when the handler returns is what
// rt_sigreturn resumes:
//  - rax = nr, rip on the `syscall` instruction: the call runs again with the registers it has;
//  - rax = nr, rip = amber_intr_tramp, rcx = an Entry: the call runs with the registers we set,
//    and the application's own come back after it (tramp.S).
// Nothing here may allocate, lock or call libc.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>

#include "agent/agent.h"
#include "image/format.h"
#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"
#include "syscall/intr.h"
#include "syscall/table.h"

extern "C" {
extern char amber_intr_tramp[], amber_intr_tramp_sys[], amber_intr_tramp_ret[];
}

namespace amber {
namespace intr {

// A call re-issued through the trampoline. Layout shared with tramp.S: rip at 0, the six
// argument registers at 8..55, busy at 56, xlate at 60, add at 104.
struct Entry {
  uint64_t rip;          // where the application goes on after the call
  uint64_t regs[6];      // the application's rdi rsi rdx r10 r8 r9
  volatile uint32_t busy;
  uint32_t xlate;        // 1: the result names kernel ids (wait4, waitid): amber_intr_result
  int32_t tid;
  long nr;
  int64_t deadline;      // relative timeouts: CLOCK_MONOTONIC deadline as re-issued
  sys::ktimespec ts;     // the timeout argument we pass
  uint64_t add;          // a continued transfer: bytes moved before, added to the result (tramp.S)
  uint64_t iov[2 * kContIov];  // a continued writev/sendmsg/recvmsg: the rest
  uint64_t msg[7];       // a continued sendmsg/recvmsg: its msghdr, pointing at iov
};
static_assert(__builtin_offsetof(Entry, regs) == 8 && __builtin_offsetof(Entry, busy) == 56 &&
                  __builtin_offsetof(Entry, xlate) == 60 &&
                  __builtin_offsetof(Entry, add) == 104,
              "tramp.S reads the entry at these offsets");

namespace {

// In .bss: saved with the rest of memory, so a call re-issued before a checkpoint is still
// described after a restart. An entry is freed by the trampoline when its call returns; one whose
// call never returns (the application longjmp'd out of a signal handler that interrupted it, or
// the thread exited) stays taken, and when none is left a call is re-issued in place with its
// own arguments (its timeout counted again from the start: longer, never shorter).
constexpr unsigned kEntries = 512;
Entry g_entries[kEntries];

Entry* take_entry(int32_t tid) {
  for (unsigned i = 0; i < kEntries; i++) {
    uint32_t z = 0;
    if (__atomic_compare_exchange_n(&g_entries[i].busy, &z, 1u, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      g_entries[i].tid = tid;
      return &g_entries[i];
    }
  }
  return nullptr;
}

const int kRegs[6] = {REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9};

bool same_boot() {
  char now[40];
  read_boot_id(now, sizeof now);
  return !g_ckpt_boot[0] || sys::seq(now, g_ckpt_boot);
}

}  // namespace

// PI futexes (priority-inheritance mutexes): the futex word holds the owner's kernel tid, and the
// kernel resolves it on FUTEX_LOCK_PI and checks it on FUTEX_UNLOCK_PI. After a restart the word
// still names the owner's previous tid: a waiter re-running FUTEX_LOCK_PI gets ESRCH (glibc then
// parks it for good) or, worse, the task that now has that tid as its owner; and the owner's
// unlock is refused. For every word a parked thread was waiting on we know where it is: its owner
// is taken to the application's tid at the checkpoint and written back as this run's kernel tid
// before any thread runs. (A PI word nobody was waiting on is not known to us: its owner's unlock
// after a restart still fails — kernel tids stored by glibc outside struct pthread.)
struct PiWord {
  uint64_t uaddr;   // 0: empty
  int32_t old_tid;  // owner at the checkpoint (kernel tid)
  int32_t app_tid;  // the same, as the application knows it
  int32_t pid;      // our kernel pid then: another one now means we were restarted
};
PiWord g_pi[AMBER_MAX_THREADS];
uint32_t g_pi_top;  // entries [0, g_pi_top) may be in use

constexpr uint32_t kFutexTidMask = 0x3fffffff;

void note_pi_waiter(uint32_t idx, uint64_t uaddr) {
  if (idx >= AMBER_MAX_THREADS) return;
  PiWord& w = g_pi[idx];
  w.uaddr = 0;
  uint32_t v;
  if (sys::vm_read(&v, (const void*)uaddr, sizeof v) != sizeof v || !(v & kFutexTidMask)) return;
  w.old_tid = (int32_t)(v & kFutexTidMask);
  w.app_tid = pid::to_app_tid(w.old_tid);
  w.pid = (int32_t)sys::getpid();
  w.uaddr = uaddr;
  uint32_t top = __atomic_load_n(&g_pi_top, __ATOMIC_RELAXED);
  while (top < idx + 1 && !__atomic_compare_exchange_n(&g_pi_top, &top, idx + 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}

void before_release() {
  int32_t self = (int32_t)sys::getpid();
  uint32_t top = __atomic_load_n(&g_pi_top, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < top && i < AMBER_MAX_THREADS; i++) {
    PiWord& w = g_pi[i];
    if (!w.uaddr) continue;
    if (w.pid != self) {
      int32_t now = pid::to_real_tid(w.app_tid);
      auto* word = reinterpret_cast<uint32_t*>(w.uaddr);
      uint32_t v;
      if (now > 0 && now != w.old_tid && sys::vm_read(&v, word, sizeof v) == sizeof v &&
          (int32_t)(v & kFutexTidMask) == w.old_tid) {
        uint32_t nv = (v & ~kFutexTidMask) | (uint32_t)now;
        __atomic_compare_exchange_n(word, &v, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
      }
    }
    w.uaddr = 0;
  }
  __atomic_store_n(&g_pi_top, 0u, __ATOMIC_RELEASE);
}

Entry* tramp_entry(uint64_t rip, uint64_t rsp) {
  if (rip != (uint64_t)amber_intr_tramp_sys && rip != (uint64_t)amber_intr_tramp_ret) return nullptr;
  Entry* e = *reinterpret_cast<Entry* const*>(rsp);
  if (e < g_entries || e >= g_entries + kEntries) return nullptr;
  return e;
}
uint64_t tramp_sys_addr() { return (uint64_t)amber_intr_tramp_sys; }
long entry_nr(const Entry* e) { return e->nr; }
uint64_t entry_rip(const Entry* e) { return e->rip; }
int64_t entry_deadline(const Entry* e) { return e->deadline; }
uint64_t entry_add(const Entry* e) { return e->add; }

namespace {
// The timeout in user memory of a select/pselect6/ppoll the kernel shortened in place, less
// `spent` ns (not below zero). Through vm_read/vm_write: a bad pointer is the application's, and
// the call itself will report it (EFAULT).
void shorten_in_place(const Call* c, int64_t spent) {
  int arg = c->nr == SYS_select || c->nr == SYS_pselect6 ? 4 : c->nr == SYS_ppoll ? 2 : -1;
  if (arg < 0 || !c->arg[arg] || spent <= 0) return;
  void* p = reinterpret_cast<void*>(c->arg[arg]);
  int64_t t[2];  // timeval {sec, usec} or timespec {sec, nsec}: two longs either way
  if (sys::vm_read(t, p, sizeof t) != (long)sizeof t || t[0] < 0 || t[1] < 0) return;
  const int64_t unit = c->nr == SYS_select ? 1000 : 1;  // ns per usec / nsec
  int64_t left = t[0] * 1000000000ll + t[1] * unit - spent;
  if (left < 0) left = 0;
  t[0] = left / 1000000000ll;
  t[1] = (left % 1000000000ll) / unit;
  sys::vm_write(p, t, sizeof t);
}
}  // namespace

// A signal of the program's, with a handler, that the thread takes as soon as it returns to the
// program (pending, not blocked by the mask the frame gives back): it came while the call was
// interrupted by ours (parked, or released just now), when without amber it would have
// interrupted the call itself.
bool program_signal_due(const ucontext_t* uc, int ours, bool* sa_restart = nullptr) {
  uint64_t pend = 0, mask = 0;
  if (sys::sc2(127 /*rt_sigpending*/, (long)&pend, 8) < 0) return false;
  __builtin_memcpy(&mask, &uc->uc_sigmask, sizeof mask);
  pend &= ~mask;
  pend &= ~((1ull << (ours - 1)) | (1ull << 31) | (1ull << 32));  // ours, glibc's SIGCANCEL/SIGSETXID
  struct { void* handler; unsigned long flags; void* restorer; uint64_t mask; } act{};
  for (int s = 1; s <= 64 && pend; s++) {
    if (!(pend >> (s - 1) & 1)) continue;
    pend &= ~(1ull << (s - 1));
    if (sys::sc4(13 /*rt_sigaction*/, s, 0, (long)&act, 8) == 0 && reinterpret_cast<uintptr_t>(act.handler) > 1) {
      if (sa_restart) *sa_restart = (act.flags & 0x10000000 /*SA_RESTART*/) != 0;  // the first one delivered decides
      return true;
    }
  }
  return false;
}

void resume(Call* c, void* ucv, bool restarted) {
  if (c->how == NONE) return;
  auto* uc = static_cast<ucontext_t*>(ucv);
  greg_t* r = uc->uc_mcontext.gregs;
  // A call that returns EINTR when a signal interrupts it (pause, sigsuspend, poll, nanosleep...)
  // and a program's signal is due: re-issued, the call would begin after the handler ran and wait
  // for a signal that has come already (pause never returned). It ends as the signal would have
  // ended it: EINTR (still in rax), after the handler.
  if (c->how == REISSUE && !c->entry && r[REG_RAX] == -EINTR && program_signal_due(uc, g.sig)) return;
  // A call the kernel rewound for our SA_RESTART handler (read on a pipe, wait4, accept...) while
  // the thread was blocked in it, and a program's signal is due whose handler has no SA_RESTART
  // (alarm() bounding a read): that signal would have ended the call with EINTR, so it does now,
  // after the handler. Re-run, the call would wait again for what the program meant to give up
  // on. (fork, clone and execve are restarted whatever the handler says: left alone.)
  if (c->how == PENDING && c->sampled && c->nr != SYS_clone && c->nr != SYS_fork && c->nr != SYS_vfork &&
      c->nr != SYS_execve && c->nr != SYS_clone3 && c->nr != SYS_execveat) {
    bool sa_restart = true;
    if (program_signal_due(uc, g.sig, &sa_restart) && !sa_restart) {
      r[REG_RAX] = -EINTR;
      // past the `syscall` instruction: the application's own, or the trampoline's (which puts the
      // application's registers back and adds what a continued transfer had moved)
      r[REG_RIP] = c->entry ? (greg_t)amber_intr_tramp_ret : (greg_t)c->ret_rip;
      return;
    }
  }
  uint64_t a[6];
  for (int i = 0; i < 6; i++) a[i] = c->arg[i];
  bool changed = false;
  int64_t now = mono_ns();
  // A wait4/waitid outside the agent's wait wrappers (glibc's system() and pclose() wait inside
  // libc; raw syscalls) returns this run's kernel pid straight to the program: once the maps are
  // not the identity (after a restart), it goes through the trampoline, which takes the result
  // to the application's ids (amber_intr_result). Inside a wrapper the wrapper does that.
  const bool xlate = (c->nr == SYS_wait4 || c->nr == SYS_waitid) && !pid::t_in_wait && (restarted || pid::active());

  if (restarted) {
    // Ids of the previous run, taken to the application's at the checkpoint: now this run's.
    for (int i = 0; i < c->nids; i++) {
      int32_t app = c->id_app[i], real;
      if (c->id_tid[i]) real = pid::to_real_tid(app);
      else real = pid::to_real(app);  // keeps the sign of a process group
      if ((int32_t)a[c->id_arg[i]] != real) {
        a[c->id_arg[i]] = (uint64_t)(int64_t)real;
        changed = true;
      }
    }
    // restart_syscall has nothing to resume in a new task: run the call it stood for.
    if (c->raw_nr == SYS_restart_syscall && c->nr != SYS_restart_syscall) changed = true;
  }
  // A transfer cut short goes on with the rest, never from its start (bytes moved twice).
  if (c->cont) changed = true;

  // select, pselect6 and ppoll wrote the time left into their timeout argument when the signal
  // interrupted them, and run again with it: the time since (parked, and down before a restart on
  // this boot: the application's CLOCK_MONOTONIC ran on) is taken off, so the call never waits
  // longer than the program asked by its own clock, and the time left it reads back agrees.
  if (c->how == REISSUE && (!restarted || same_boot())) shorten_in_place(c, now - c->t_int);

  if (c->how == PENDING) {
    // A live resume needs nothing: the kernel runs the call again with its own registers.
    if (!restarted && !xlate) return;
    if (c->nr == SYS_restart_syscall) return;  // unknown call: nothing better to do
  }

  sys::ktimespec ts{};
  bool use_ts = false, timed = false;
  int64_t deadline = 0;
  // (A call already in the trampoline always gets its timeout again: its entry must keep
  // describing the deadline it runs with.)
  if (c->tmo == TMO_REL && (c->how == REISSUE || changed || c->entry)) {
    timed = true;
    // What is left of the deadline by the application's own clock: live, the time parked
    // counts; restarted on the same boot, so does the time the computation was down
    // (CLOCK_MONOTONIC went on: a program that reads it must find its timeout no longer than it
    // asked, and select's updated timeout agreeing with it). On another boot the clock is another
    // one: what was left at the checkpoint, from now.
    int64_t left = restarted && !same_boot() ? c->rem : c->deadline - now;
    if (left < 0) left = 0;
    deadline = now + left;
    if (c->tmo_ms) {
      int64_t ms = (left + 999999) / 1000000;
      if (ms > 0x7fffffff) ms = 0x7fffffff;
      if ((int64_t)(int32_t)a[c->tmo_arg] != ms) {
        a[c->tmo_arg] = (uint64_t)ms;
        changed = true;
      }
    } else {
      ts.sec = left / 1000000000;
      ts.nsec = left % 1000000000;
      use_ts = true;
      changed = true;
    }
  } else if (c->tmo == TMO_ABS && restarted && (c->clock == 1 /*MONOTONIC*/ || c->clock == 7 /*BOOTTIME*/) &&
             !same_boot()) {
    // Another boot's clock: keep the time that was left, counted from now.
    int64_t left = c->abs_ns - c->t_int;
    if (left < 0) left = 0;
    sys::ktimespec t{};
    sys::clock_gettime(c->clock, &t);
    int64_t at = t.sec * 1000000000ll + t.nsec + left;
    ts.sec = at / 1000000000;
    ts.nsec = at % 1000000000;
    use_ts = true;
    changed = true;
  }

  if (!changed && !c->entry && !xlate) {
    // The call as it was: rewind onto its `syscall` instruction (PENDING is already there).
    if (c->how == REISSUE) {
      r[REG_RAX] = c->nr;
      r[REG_RIP] = (greg_t)(c->ret_rip - 2);
    }
    return;
  }

  Entry* e = c->entry;
  bool fresh = false;
  if (!e) {
    e = take_entry((int32_t)sys::gettid());
    if (!e && c->cont) return;  // no entry left: the short count (still in rax) stands
    if (!e) {
      // No entry left: the call in place with the application's own arguments (a timeout
      // counted again from its start, ids possibly stale) rather than an EINTR.
      r[REG_RAX] = c->nr;
      r[REG_RIP] = (greg_t)(c->ret_rip - 2);
      return;
    }
    fresh = true;
    e->rip = c->ret_rip;
    for (int i = 0; i < 6; i++) e->regs[i] = c->arg[i];
  }
  e->nr = c->nr;
  e->xlate = xlate ? 1 : 0;
  e->add = c->done;
  if (c->cont == CONT_BUF) {
    a[1] = c->iov[0];
    a[2] = c->iov[1];
  } else if (c->cont == CONT_COUNT) {
    a[3] = c->iov[0];
  } else if (c->cont == CONT_IOV || c->cont == CONT_MSG) {
    for (unsigned i = 0; i < 2u * c->niov && i < 2 * kContIov; i++) e->iov[i] = c->iov[i];
    if (c->cont == CONT_IOV) {
      a[1] = (uint64_t)e->iov;
      a[2] = c->niov;
    } else {
      for (int i = 0; i < 7; i++) e->msg[i] = c->msg[i];
      e->msg[2] = (uint64_t)e->iov;
      e->msg[3] = c->niov;
      a[1] = (uint64_t)e->msg;
    }
  }
  if (timed) e->deadline = deadline;
  if (use_ts) {
    e->ts = ts;
    a[c->tmo_arg] = (uint64_t)&e->ts;
  }
  for (int i = 0; i < 6; i++) r[kRegs[i]] = (greg_t)a[i];
  r[REG_RAX] = c->nr;
  if (fresh) {
    r[REG_RCX] = (greg_t)e;
    r[REG_RIP] = (greg_t)amber_intr_tramp;
  } else {
    // Already in the trampoline: its entry is on the stack; run its `syscall` again.
    r[REG_RIP] = (greg_t)amber_intr_tramp_sys;
  }
}

}  // namespace intr
}  // namespace amber

// Called by the trampoline (tramp.S, .Lxlate) after a call re-issued with xlate set, with its result:
// returns the result the program sees. Runs in the program's thread with its signals as they
// are: no allocation, no lock, no libc.
extern "C" __attribute__((visibility("hidden"))) long amber_intr_result(amber::intr::Entry* e, long rax) {
  using namespace amber;
  if (e->nr == SYS_wait4) return rax > 0 ? pid::to_app((int32_t)rax) : rax;
  if (e->nr == SYS_waitid && rax == 0 && e->regs[2]) {
    // siginfo_t's si_pid (offset 16), through the pointer the program gave (not translated)
    auto* at = reinterpret_cast<char*>(e->regs[2]) + 16;
    int32_t real = 0;
    if (sys::vm_read(&real, at, sizeof real) == (long)sizeof real && real > 0) {
      int32_t app = pid::to_app(real);
      if (app != real) sys::vm_write(at, &app, sizeof app);
    }
  }
  return rax;
}
