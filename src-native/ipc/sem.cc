// SysV semaphores (semget/semop): the sets themselves outlive the processes (like SysV shared
// memory: ipc/sysvshm.cc, kept by id, since an unprivileged process cannot choose one), but the
// undo adjustments a process holds (SEM_UNDO: semadj, applied by the kernel when it exits) are
// per process and not visible from outside it. Killing the computation at checkpoint applies them.
//
// Agent: semop/semtimedop are wrapped to keep this process's adjustments (what the kernel keeps:
// adj -= sem_op of each SEM_UNDO operation that succeeded); semctl SETVAL/SETALL/IPC_RMID clear
// them as the kernel does (for this process; another process's record of the same semaphore is
// not reachable from here: a limit). semctl GETPID gives the application's pid. The list goes into
// the image (amber_process.sem_undo).
//
// Restore: stage 1 refuses an image whose set is gone. In stage 3 each process takes its
// adjustments again: semop(num, -adj, SEM_UNDO) puts back both the value the exit undid and the
// undo record (so when the process exits later, the kernel undoes it as before).
#include "image/format.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"
#include "sys/usermem.h"

namespace amber {
namespace {
constexpr int kMaxAdj = 1024;
constexpr long NR_semctl = 66, NR_semtimedop = 220;
constexpr short SEM_UNDO_ = 0x1000;
struct SemBuf { unsigned short num; short op; short flg; };

amber_semadj g_adj[kMaxAdj];
uint32_t g_nadj;
int32_t g_owner;   // the app pid the list belongs to (a forked child starts with none: the kernel's
                   // undo lists are not inherited)
bool g_overflow;
int g_lock;

void lock() { while (__atomic_exchange_n(&g_lock, 1, __ATOMIC_ACQUIRE)) __builtin_ia32_pause(); }
void unlock() { __atomic_store_n(&g_lock, 0, __ATOMIC_RELEASE); }
void mine() {
  if (g_owner != g.vpid) { g_nadj = 0; g_overflow = false; g_owner = g.vpid; }
}

void note(int id, const SemBuf* ops, size_t n) {
  lock();
  mine();
  for (size_t i = 0; i < n; i++) {
    if (!(ops[i].flg & SEM_UNDO_) || !ops[i].op) continue;
    uint32_t k = 0;
    while (k < g_nadj && !(g_adj[k].id == id && g_adj[k].num == ops[i].num)) k++;
    if (k == g_nadj) {
      if (g_nadj == kMaxAdj) { g_overflow = true; continue; }
      g_adj[g_nadj++] = amber_semadj{id, ops[i].num, 0, 0};
    }
    g_adj[k].adj -= ops[i].op;
    if (!g_adj[k].adj) g_adj[k] = g_adj[--g_nadj];
  }
  unlock();
}

// The kernel sets a semaphore's adjustments to zero in every process when its value is set.
void clear(int id, long num) {
  lock();
  mine();
  for (uint32_t k = 0; k < g_nadj;)
    if (g_adj[k].id == id && (num < 0 || g_adj[k].num == (uint32_t)num)) g_adj[k] = g_adj[--g_nadj];
    else k++;
  unlock();
}

long ops_call(int id, void* sops, size_t n, const void* ts) {
  // (the operations read once, before the call, into our own copy: what the kernel did is what
  // we note)
  SemBuf copy[64];
  bool kept = n <= 64 && sys::vm_read(copy, sops, n * sizeof(SemBuf)) == (long)(n * sizeof(SemBuf));
  long r = sys::sc4(NR_semtimedop, id, (long)sops, (long)n, (long)ts);
  if (r < 0) { errno = (int)-r; return -1; }
  if (kept) note(id, copy, n);
  return 0;
}
}  // namespace

long sem_capture(Capture& c) {
  c.ext->sem_undo = amber_str{0, 0};
  if (g_owner != g.vpid || !g_nadj) return 0;
  if (g_overflow) return c.fail(-E2BIG, "more than 1024 SysV semaphore undo adjustments in one process");
  uint32_t at = c.str.append(g_adj, sizeof(amber_semadj) * g_nadj);
  if (c.str.full) return c.fail(-E2BIG, "the image's string space is full (semaphore undo adjustments)");
  c.ext->sem_undo = amber_str{at, (uint32_t)(sizeof(amber_semadj) * g_nadj)};
  return 0;
}
}  // namespace amber

extern "C" {
__attribute__((visibility("default"))) int semop(int id, void* sops, size_t n) {
  return (int)amber::ops_call(id, sops, n, nullptr);
}
__attribute__((visibility("default"))) int semtimedop(int id, void* sops, size_t n, const void* ts) {
  return (int)amber::ops_call(id, sops, n, ts);
}
__attribute__((visibility("default"))) int semctl(int id, int num, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  unsigned long arg = va_arg(ap, unsigned long);  // union semun, by value (unused by some commands)
  va_end(ap);
  long r = sys::sc4(amber::NR_semctl, id, num, cmd, (long)arg);
  if (r < 0) { errno = (int)-r; return -1; }
  switch (cmd) {
    case 11 /*GETPID*/: return amber::pid::to_app((int32_t)r);
    case 16 /*SETVAL*/: amber::clear(id, num); break;
    case 17 /*SETALL*/:
    case 0 /*IPC_RMID*/: amber::clear(id, -1); break;
  }
  return (int)r;
}
}  // extern "C"
#endif  // AMBER_AGENT

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
constexpr long NR_semctl = 66, NR_semtimedop = 220;
struct SemBuf { unsigned short num; short op; short flg; };

uint32_t list(const amber_view& v, const amber_semadj** out) {
  const char* d;
  uint32_t len;
  if (!v.pext->sem_undo.len || !amber_str_at(&v, v.pext->sem_undo, &d, &len)) return 0;
  *out = reinterpret_cast<const amber_semadj*>(d);
  return len / sizeof(amber_semadj);
}
}  // namespace

// Stage 1: every set the process holds adjustments on is still there.
void sem_check() {
  const amber_semadj* a = nullptr;
  uint32_t n = list(S.v, &a);
  for (uint32_t i = 0; i < n; i++) {
    amber_semadj x;
    memcpy(&x, &a[i], sizeof x);
    char buf[128];
    long e = sys::sc4(NR_semctl, x.id, 0, 2 /*IPC_STAT*/, (long)buf);
    if (e < 0) {
      char what[48];
      sys::Out(what, sizeof what).s("(id ").i(x.id).s(")");
      die(EXIT_HOST, "a SysV semaphore set the process holds undo adjustments on is gone: a new one would get another id", what, e);
    }
  }
}

// Stage 3: this process's adjustments, taken again.
void sem_restore() {
  const amber_semadj* a = nullptr;
  uint32_t n = list(S.v, &a);
  for (uint32_t i = 0; i < n; i++) {
    amber_semadj x;
    memcpy(&x, &a[i], sizeof x);
    if (x.adj < -32768 || x.adj > 32767) continue;
    SemBuf op{(unsigned short)x.num, (short)-x.adj, 0x1000 /*SEM_UNDO*/ | 04000 /*IPC_NOWAIT*/};
    long e = -11;
    // Another process of the tree may have to give its share back first (a negative adjustment
    // of its own raises the value): wait for it, boundedly.
    for (int t = 0; t < 5000 && e == -11 /*EAGAIN*/; t++) {
      e = sys::sc4(NR_semtimedop, x.id, (long)&op, 1, 0);
      if (e == -11) { struct { long s, ns; } ms{0, 1000000}; sys::sc2(35 /*nanosleep*/, (long)&ms, 0); }
    }
    if (e < 0) {
      char buf[200];
      sys::Out o(buf, sizeof buf);
      o.s("amber: warning: process ").i(S.v.proc->app_pid).s(": cannot take its SEM_UNDO adjustment on SysV semaphore ")
          .u(x.num).s(" of set ").i(x.id).s(" again (errno ").i(-e).s("); the semaphore's value differs\n");
      sys::write_all(2, buf, o.len);
    }
  }
}
}  // namespace rs
#endif  // AMBER_RESTORER
