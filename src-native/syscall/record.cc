// Calls interrupted by a checkpoint, part 1: what was the thread doing? (see intr.h)
//
// The checkpoint thread reads /proc/self/task/TID/syscall just before it signals the thread: the
// kernel's view of a thread blocked in a system call (its number — orig_ax, which the signal
// frame does not carry — six arguments, sp and pc). The handler then decides from the signal
// frame whether that call was interrupted by us. The record is only trusted when the frame shows
// the very same call: -EINTR in rax, a `syscall` instruction just before rip == the recorded pc,
// the recorded sp and argument registers. A thread that was running when we looked has no record;
// if it entered a call in the few microseconds before the signal, that call's EINTR is let
// through (the one race left, see the README).
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>

#include "image/format.h"
#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"
#include "syscall/intr.h"
#include "syscall/site.h"
#include "syscall/table.h"

namespace amber {
namespace intr {

// One per slot of the thread table; written by the checkpoint thread before it signals the
// slot's thread, read by that thread's handler (tgkill orders the two).
struct Seen {
  bool valid;        // the thread was in a system call when we looked
  long nr;
  uint64_t arg[6];
  uint64_t sp, pc;
  int64_t t0;        // CLOCK_MONOTONIC after the signal was sent: the call had begun by then
  volatile uint32_t stamped;  // t0 is set (the handler may run before tgkill has even returned)
};
Seen g_seen[AMBER_MAX_THREADS];

// The boot the checkpoint ran on (/proc/sys/kernel/random/boot_id): absolute deadlines on
// CLOCK_MONOTONIC/BOOTTIME mean nothing on another boot (rewind.cc).
char g_ckpt_boot[40];


int64_t mono_ns() {
  sys::ktimespec ts{};
  sys::clock_gettime(1 /*CLOCK_MONOTONIC*/, &ts);
  return ts.sec * 1000000000ll + ts.nsec;
}

void read_boot_id(char* out, size_t cap) {
  size_t n = sys::read_file("/proc/sys/kernel/random/boot_id", out, cap - 1);
  while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) n--;
  out[n] = 0;
}

namespace {

uint64_t parse_hex(const char** p) {
  const char* s = *p;
  if (s[0] == '0' && s[1] == 'x') s += 2;
  *p = s;
  return sys::parse_u(p, 16);
}

// "NR 0xA1 0xA2 0xA3 0xA4 0xA5 0xA6 0xSP 0xPC\n" (in a call), "-1 0xSP 0xPC" (blocked outside a
// call), "running" (on a CPU: no stable answer).
bool parse_syscall_file(const char* s, Seen* out) {
  if (*s < '0' || *s > '9') return false;
  out->nr = (long)sys::parse_u(&s, 10);
  for (int i = 0; i < 6; i++) {
    if (*s++ != ' ') return false;
    out->arg[i] = parse_hex(&s);
  }
  if (*s++ != ' ') return false;
  out->sp = parse_hex(&s);
  if (*s++ != ' ') return false;
  out->pc = parse_hex(&s);
  return true;
}

bool is_syscall_insn(uint64_t at) {
  unsigned char b[2];
  return sys::vm_read(b, (const void*)at, 2) == 2 && b[0] == 0x0f && b[1] == 0x05;
}

// The number the call site loads before its `syscall` instruction (site.h), or -1.
long site_nr(uint64_t syscall_at) {
  uint8_t b[kScan];
  size_t n = kScan;
  if (sys::vm_read(b, (const void*)(syscall_at - n), n) != (long)n) {
    // the code may begin less than kScan bytes into its page, after an unmapped one
    n = (size_t)(syscall_at & (sys::kPage - 1));
    if (n > kScan) n = kScan;
    if (!n || sys::vm_read(b, (const void*)(syscall_at - n), n) != (long)n) return -1;
  }
  return site_nr_in(b, n);
}

// The call a restart_syscall resumes. The kernel kept it in the task's restart_block, which a
// restored task does not have; its arguments are still in their registers and its number at the
// call site. Only the calls that use a restart_block are accepted.
long restarted_call(uint64_t syscall_at) {
  long nr = site_nr(syscall_at);
  switch (nr) {
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_poll:
    case SYS_futex:
      return nr;
    default:
      return -1;
  }
}

// The application's view of a kernel id found in a register (pid map of the current run).
int32_t app_id(int32_t real, bool tid) {
  if (tid) return pid::to_app_tid(real);
  if (real < -1) return -pid::to_app(-real);  // -pgid
  return pid::to_app(real);
}

}  // namespace

// An application's signal can interrupt the very call we sampled, its handler return, and our
// signal land on that return (rt_sigreturn's exit): the frame then shows EINTR after a `syscall`
// at the sampled pc, exactly like our own interruption, but the EINTR is the application's and
// must reach it (a program that times out a blocking read with alarm() relies on it). Nothing in
// time tells the two apart (under load the application may also run on and enter a new call that
// we do interrupt). The registers do: after a `syscall` instruction rcx holds the return address
// (the CPU puts it there; the ABI gives rcx no other meaning), so the trampolines, which see the
// frame the application's handler will return to, replace it with a tag. A fresh call overwrites
// rcx again: only an EINTR handed back by an application handler carries the tag.
static uint64_t app_tag(uint64_t rip) { return rip ^ 0x616d6265724e5452ull; }

void app_handler_runs(void* ucv) {
  if (!ucv) return;
  greg_t* r = static_cast<ucontext_t*>(ucv)->uc_mcontext.gregs;
  uint64_t rip = (uint64_t)r[REG_RIP];
  if ((long)r[REG_RAX] == -EINTR) {
    if (!is_syscall_insn(rip - 2)) return;  // rax happens to hold -4 in ordinary code: leave it
    r[REG_RCX] = (greg_t)app_tag(rip);
  } else if ((long)r[REG_RAX] > 0 && (uint64_t)r[REG_RCX] == rip && is_syscall_insn(rip - 2)) {
    // A transfer the program's signal cut short (a count, and rcx as the `syscall` left it): the
    // short count is the program's, never continued by capture (which wants rcx == rip).
    r[REG_RCX] = (greg_t)app_tag(rip);
  }
}

long signal_thread(uint32_t idx, int pid, int tid, int sig) {
  Seen& s = g_seen[idx];
  s.valid = false;
  __atomic_store_n(&s.stamped, 0u, __ATOMIC_RELEASE);
  if (idx == 1) read_boot_id(g_ckpt_boot, sizeof g_ckpt_boot);  // once per checkpoint
  char path[64], buf[256];
  sys::Out(path, sizeof path).s("/proc/self/task/").i(tid).s("/syscall");
  size_t n = sys::read_file(path, buf, sizeof buf - 1);
  buf[n] = 0;
  if (n) s.valid = parse_syscall_file(buf, &s);
  long r = sys::tgkill(pid, tid, sig);
  // Taken after the signal is sent: a call the thread is in when the signal lands began before
  // this instant (or, entered in the microseconds after it, returns at once: see the margin in
  // rewind.cc), so a deadline counted from here is never early.
  s.t0 = mono_ns();
  __atomic_store_n(&s.stamped, 1u, __ATOMIC_RELEASE);
  if (r >= 0) sys::futex_wake(&s.stamped, 1);
  return r;
}

namespace {

// The thread was blocked in the very call whose registers the frame shows.
bool seen_match(const Seen* seen, uint64_t rip, uint64_t rsp, const uint64_t* args) {
  if (!seen || !seen->valid || seen->pc != rip || seen->sp != rsp) return false;
  for (int i = 0; i < 6; i++)
    if (seen->arg[i] != args[i]) return false;
  return true;
}

// The handler needs t0 only for a relative timeout; the checkpoint thread sets it right after the
// signal goes out, so the wait is short. Without it (never stamped within a second), the moment
// of the interruption itself is a safe, later, start.
int64_t stamp_of(const Seen* s, int64_t fallback) {
  for (int i = 0; i < 1000 && !__atomic_load_n(&s->stamped, __ATOMIC_ACQUIRE); i++) {
    sys::ktimespec ts{0, 1000000};
    sys::futex_wait(const_cast<volatile uint32_t*>(&s->stamped), 0, &ts);
  }
  return __atomic_load_n(&s->stamped, __ATOMIC_ACQUIRE) ? s->t0 : fallback;
}

}  // namespace

namespace {

// The rest of a list of {base, len} iovecs (n of them at `at`) once `moved` bytes are gone, into
// c->iov; false when it cannot be described (unreadable, too many entries, nothing left).
bool rest_of_iov(Call* c, uint64_t at, uint64_t n, uint64_t moved) {
  if (!n || n > kContIov) return false;
  uint64_t v[2 * kContIov];
  if (sys::vm_read(v, (const void*)at, n * 16) != (long)(n * 16)) return false;
  unsigned k = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t base = v[2 * i], len = v[2 * i + 1];
    if (moved >= len) { moved -= len; continue; }
    c->iov[2 * k] = base + moved;
    c->iov[2 * k + 1] = len - moved;
    moved = 0;
    k++;
  }
  c->niov = (uint8_t)k;
  return k > 0;
}

}  // namespace

// A blocking transfer our signal cut short after `moved` bytes (the call returned them): describe
// the rest (c->cont, c->iov, c->msg) from the registers it ran with (`a`), so that resume goes on
// with it; false leaves the short count to the program (a non-blocking descriptor, more iovecs
// than we carry, nothing left, memory we cannot read).
static bool continue_transfer(Call* c, long nr, const uint64_t* a, uint64_t moved) {
  uint8_t kind = cont_kind(nr, a);
  if (kind == CONT_NONE || !moved) return false;
  long fl = sys::fcntl((int)a[0], 3 /*F_GETFL*/, 0);
  if (fl < 0 || (fl & 04000 /*O_NONBLOCK*/)) return false;
  if (kind == CONT_BUF) {
    if (moved >= a[2]) return false;
    c->iov[0] = a[1] + moved;
    c->iov[1] = a[2] - moved;
    c->niov = 1;
  } else if (kind == CONT_COUNT) {
    if (moved >= a[3]) return false;
    c->iov[0] = a[3] - moved;
  } else if (kind == CONT_IOV) {
    if (!rest_of_iov(c, a[1], a[2], moved)) return false;
  } else {
    if (sys::vm_read(c->msg, (const void*)a[1], sizeof c->msg) != (long)sizeof c->msg) return false;
    if (!rest_of_iov(c, c->msg[2], c->msg[3], moved)) return false;
    // control data went (or came) with the first byte; a receive's source address is written
    if (nr == SYS_recvmsg) { c->msg[0] = 0; c->msg[1] = 0; }
    c->msg[4] = 0;
    c->msg[5] = 0;
  }
  c->cont = kind;
  c->done += moved;
  return true;
}

void capture(uint32_t idx, void* ucv, Call* c) {
  *c = Call{};
  auto* uc = static_cast<ucontext_t*>(ucv);
  const greg_t* r = uc->uc_mcontext.gregs;
  uint64_t rip = (uint64_t)r[REG_RIP], rsp = (uint64_t)r[REG_RSP];
  long rax = (long)r[REG_RAX];
  uint64_t args[6] = {(uint64_t)r[REG_RDI], (uint64_t)r[REG_RSI], (uint64_t)r[REG_RDX],
                      (uint64_t)r[REG_R10], (uint64_t)r[REG_R8], (uint64_t)r[REG_R9]};
  c->t_int = mono_ns();
  for (int i = 0; i < 6; i++) c->arg[i] = args[i];
  const Seen* seen = idx < AMBER_MAX_THREADS ? &g_seen[idx] : nullptr;

  Entry* in_tramp = tramp_entry(rip, rsp);
  if (in_tramp) {
    // A call we re-issued at an earlier checkpoint, interrupted again: we know it exactly.
    c->entry = in_tramp;
    c->nr = c->raw_nr = entry_nr(in_tramp);
    c->ret_rip = entry_rip(in_tramp);
    c->done = entry_add(in_tramp);
    if (rip == tramp_sys_addr()) {
      c->how = PENDING;
      c->sampled = seen_match(seen, rip + 2, rsp, args) && seen->nr == c->nr;
    }
    else if (rax == -EINTR) c->how = REISSUE;
    else if (rax > 0 && seen_match(seen, rip, rsp, args) && (uint64_t)r[REG_RCX] == rip &&
             continue_transfer(c, c->nr, args, (uint64_t)rax))
      c->how = REISSUE;  // a continuation cut short again
    else return;
  } else if (rax > 0 && seen_match(seen, rip, rsp, args) && (uint64_t)r[REG_RCX] == rip && is_syscall_insn(rip - 2)) {
    // The call we saw the thread blocked in has just returned a count: a transfer our signal cut
    // short (rcx still holds the return address the `syscall` put there: no handler of the
    // program's ran in between, see app_handler_runs).
    c->raw_nr = c->nr = seen->nr;
    if (!continue_transfer(c, c->nr, args, (uint64_t)rax)) { *c = Call{}; return; }
    c->how = REISSUE;
    c->ret_rip = rip;
  } else if (rax == -EINTR) {
    if (!is_syscall_insn(rip - 2)) return;
    if (seen_match(seen, rip, rsp, args)) {
      c->raw_nr = seen->nr;
      c->nr = seen->nr == SYS_restart_syscall ? restarted_call(rip - 2) : seen->nr;
    } else {
      // Not the call we saw: the thread was on a CPU when we looked, or it left that call and
      // entered this one before the signal landed (the checkpoint thread can be preempted
      // between the two). The call site may still say which call it is (site.h).
      c->raw_nr = -1;
      c->nr = site_nr(rip - 2);
    }
    if (c->nr < 0) return;
    c->how = REISSUE;
    c->ret_rip = rip;
  } else if (rax >= 0 && rax < 1024 && is_syscall_insn(rip)) {
    // The kernel rewound a restartable call (SA_RESTART, ERESTARTNOINTR, restart_syscall), or
    // the thread had loaded its registers and not yet executed the instruction: the same thing.
    c->raw_nr = rax;
    c->nr = rax == SYS_restart_syscall ? restarted_call(rip) : rax;
    if (c->nr < 0) c->nr = rax;  // unknown: a live resume still works, a restart cannot help
    c->how = PENDING;
    c->sampled = rax != SYS_restart_syscall && seen_match(seen, rip + 2, rsp, args) && seen->nr == rax;
    c->ret_rip = rip + 2;
  } else {
    return;
  }

  // The application's own signal interrupted the call and its handler returned just before ours
  // came (see app_tag): its EINTR stands.
  if (c->how == REISSUE && (uint64_t)r[REG_RCX] == app_tag(rip)) {
    c->how = 0;
    return;
  }
  Spec sp = spec(c->nr, c->arg);
  if (c->nr == SYS_futex && ((c->arg[1] & 0x7f) == 6 /*LOCK_PI*/ || (c->arg[1] & 0x7f) == 13 /*LOCK_PI2*/))
    note_pi_waiter(idx, c->arg[0]);
  if (c->how == REISSUE && !sp.reissue) {
    c->how = 0;  // not a call we know how to re-run: its EINTR stands
    return;
  }
  for (int i = 0; i < sp.nids && i < 2; i++) {
    c->id_arg[i] = sp.id_arg[i];
    c->id_tid[i] = sp.id_tid[i];
    c->id_app[i] = app_id((int32_t)c->arg[sp.id_arg[i]], sp.id_tid[i]);
  }
  c->nids = sp.nids;
  c->tmo = sp.tmo;
  c->tmo_arg = sp.tmo_arg;
  c->tmo_ms = sp.tmo_ms;
  c->clock = sp.clock;
  if (c->tmo == TMO_REL) {
    int64_t timeout;
    if (c->entry) {
      // Re-issued by us: the deadline it was given.
      c->deadline = entry_deadline(c->entry);
    } else if (sp.rem_arg >= 0 && c->arg[sp.rem_arg] && c->how == REISSUE) {
      // nanosleep/clock_nanosleep wrote the time left into *rem when it was interrupted.
      sys::ktimespec rem;
      if (sys::vm_read(&rem, (const void*)c->arg[sp.rem_arg], sizeof rem) != sizeof rem) { c->how = 0; return; }
      c->deadline = c->t_int + rem.sec * 1000000000ll + rem.nsec;
    } else {
      if (c->tmo_ms) {
        timeout = (int64_t)(int32_t)c->arg[c->tmo_arg] * 1000000ll;
      } else {
        sys::ktimespec ts;
        if (sys::vm_read(&ts, (const void*)c->arg[c->tmo_arg], sizeof ts) != sizeof ts) { c->how = 0; return; }
        timeout = ts.sec * 1000000000ll + ts.nsec;
      }
      // The call was under way when we signalled (t0): counting from there it cannot end early.
      // The margin covers a call entered in the instant between the signal and its delivery.
      int64_t from = seen && seen->valid ? stamp_of(seen, c->t_int) : c->t_int;
      c->deadline = from + timeout + kMarginNs;
    }
    c->rem = c->deadline - c->t_int;
    if (c->rem < 0) c->rem = 0;
  } else if (c->tmo == TMO_ABS) {
    sys::ktimespec ts;
    if (sys::vm_read(&ts, (const void*)c->arg[c->tmo_arg], sizeof ts) != sizeof ts) c->tmo = TMO_NONE;
    else c->abs_ns = ts.sec * 1000000000ll + ts.nsec;
  }
}

}  // namespace intr
}  // namespace amber
