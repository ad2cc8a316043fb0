// dnotify registrations (fcntl(fd, F_NOTIFY, mask) on a directory): agent only, no image record.
//
// The kernel shows them nowhere (no fdinfo line, no /proc file), so the fcntl wrapper
// (fd/owner.agent.cc) keeps each one the program makes in a table in the agent's memory — saved
// with the process — and the restart registers them again on the same descriptors
// (fds_restarted, before any program thread runs). The signal they raise is F_SETSIG's, which the
// owner table brings back. A registration belongs to the descriptor table it was made in: a fork
// child has none (the table is emptied there), and closing the descriptor ends it (the close
// wrapper says so; a descriptor that is no longer the same directory at checkpoint is dropped).
// A one-shot registration (no DN_MULTISHOT) that already fired cannot be told from one that did
// not: it is armed again, and the checkpoint says so.
#include <fcntl.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "fd/file.h"
#include "sys/sys.h"

namespace {
struct Reg {
  int32_t fd;     // -1: free
  uint32_t mask;  // F_NOTIFY's argument, DN_MULTISHOT included
  uint64_t dev, ino;
};
constexpr uint32_t kRegs = 256;
Reg g_regs[kRegs];
uint32_t g_nregs;  // slots used (some may be free again)
volatile uint32_t g_lock;

struct Lock {
  Lock() { while (__atomic_exchange_n(&g_lock, 1u, __ATOMIC_ACQUIRE)) sys::sc0(24 /*sched_yield*/); }
  ~Lock() { __atomic_store_n(&g_lock, 0u, __ATOMIC_RELEASE); }
};
}  // namespace

namespace fd {
void dnotify_note(int fd, unsigned long mask) {
  sys::kstat st;
  if (sys::fstat(fd, &st) < 0) return;
  // Our signal is held off while the table changes: a parked thread must not hold the lock.
  uint64_t ours = amber::g.sig > 0 ? amber::park_block_mask() : 0, old = 0;
  if (amber::g.active) sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &ours, &old);
  {
    Lock l;
    Reg* free = nullptr;
    Reg* same = nullptr;
    for (uint32_t i = 0; i < g_nregs; i++) {
      if (g_regs[i].fd == fd) same = &g_regs[i];
      else if (g_regs[i].fd < 0 && !free) free = &g_regs[i];
    }
    if (!same && !free && g_nregs < kRegs) free = &g_regs[g_nregs++];
    Reg* r = same ? same : free;
    // mask 0 ends the registration; a new mask replaces the old one (as the kernel does).
    if (r) *r = mask & ~DN_MULTISHOT ? Reg{fd, (uint32_t)mask, st.st_dev, st.st_ino} : Reg{-1, 0, 0, 0};
  }
  if (amber::g.active && !(old & ours)) sys::rt_sigprocmask(1 /*SIG_UNBLOCK*/, &ours, nullptr);
}

void dnotify_closed(int fd) {
  if (!__atomic_load_n(&g_nregs, __ATOMIC_ACQUIRE)) return;
  for (uint32_t i = 0; i < g_nregs; i++)
    if (g_regs[i].fd == fd) g_regs[i].fd = -1;
}

void dnotify_capture(amber::Capture& c, const amber_fd& f, const sys::kstat& st) {
  for (uint32_t i = 0; i < g_nregs; i++) {
    Reg& r = g_regs[i];
    if (r.fd != f.fd) continue;
    if (r.dev != st.st_dev || r.ino != st.st_ino) { r.fd = -1; continue; }  // closed behind our back
    if (!(r.mask & DN_MULTISHOT))
      c.limit(f, "has a one-shot dnotify registration (F_NOTIFY without DN_MULTISHOT): it is armed again at restart, even if it fired before the checkpoint");
  }
}

void dnotify_forked() {
  g_nregs = 0;
  g_lock = 0;
}
}  // namespace fd

namespace amber {
void dnotify_restarted() {
  for (uint32_t i = 0; i < g_nregs; i++) {
    const Reg& r = g_regs[i];
    if (r.fd < 0) continue;
    long e = sys::fcntl(r.fd, F_NOTIFY, r.mask);
    if (e < 0) {
      char m[160];
      sys::Out o(m, sizeof m);
      o.s("amber: warning: restart: fd ").i(r.fd).s(": cannot register its dnotify mask again (F_NOTIFY, errno ").i(-e).s(")\n");
      sys::write_all(2, m, o.len);
    }
  }
}
}  // namespace amber
