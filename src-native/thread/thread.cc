// Threads (amber_thread: registers saved in the suspend handler, FS/GS base, rseq area, alternate
// signal stack, blocked mask, glibc's cached tid). At most AMBER_MAX_THREADS (1024) per process:
// the agent refuses to checkpoint more, naming the limit.
//
// Capture: each thread fills its own record inside the agent's suspend handler (agent/agent.cc),
// then saves its callee-saved registers (agent/ctx.S); the interrupted registers are already in
// the kernel's signal frame on its stack (PITFALLS 7). A thread is registered for rseq when glibc
// says so and the kernel has written a cpu id into its area (PITFALLS 1).
// Restore (stage 3, memory back): every thread but the main one made again with raw clone on a
// small stack in the blob, with its TLS (CLONE_SETTLS) and, when glibc's cached tid is known,
// CHILD_SETTID/CHILD_CLEARTID at it so pthread_join keeps working (PITFALLS 2); each sets its
// alternate stack, GS base and rseq registration (same area, length and signature), then jumps
// into its saved context: the agent's handler returns through rt_sigreturn, which restores the
// rest, the signal mask included. New kernel tids go to the agent through the hand-off.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include <signal.h>

#include "agent/agent.h"
#include "pid/pid.h"
#include "sys/sys.h"

// glibc >= 2.35 exports where each thread's rseq area lives (weak: absent on older libcs).
extern "C" {
extern const unsigned int __rseq_size __attribute__((weak));
extern const ptrdiff_t __rseq_offset __attribute__((weak));
}

namespace amber {
void fill_thread_record(amber_thread* rec) {
  rec->tid = (int32_t)sys::gettid();
  rec->vtid = pid::to_app_tid(rec->tid);
  rec->flags = 0;
  if (rec->tid == g.pid) rec->flags |= AMBER_THR_MAIN;
  if (rec->tid == g.ckpt_tid) rec->flags |= AMBER_THR_CKPT;
  uint64_t fs = 0, gs = 0;
  sys::arch_prctl(0x1003 /*ARCH_GET_FS*/, (uint64_t)&fs);
  sys::arch_prctl(0x1004 /*ARCH_GET_GS*/, (uint64_t)&gs);
  rec->fs_base = fs;
  rec->gs_base = gs;
  rec->rseq_addr = 0;
  rec->rseq_len = 0;
  // Registered iff glibc says so and the kernel has written a real cpu id into the area.
  if (&__rseq_size && &__rseq_offset && __rseq_size > 0 && fs) {
    uint64_t area = fs + (uint64_t)__rseq_offset;
    int32_t cpu_id = *reinterpret_cast<volatile int32_t*>(area + 4);
    if (cpu_id >= 0) {
      rec->rseq_addr = area;
      rec->rseq_len = 32;  // glibc registers sizeof(struct rseq_area) == 32 (PITFALLS, measured)
      rec->rseq_sig = 0x53053053;
    }
  }
  stack_t ss = {};
  sys::sigaltstack(nullptr, &ss);
  rec->ss_sp = reinterpret_cast<uint64_t>(ss.ss_sp);
  rec->ss_size = ss.ss_size;
  rec->ss_flags = ss.ss_flags & ~SS_ONSTACK;
  uint64_t mask = 0;
  sys::rt_sigprocmask(SIG_BLOCK, nullptr, &mask);
  rec->sigmask = mask;
  rec->ctid_addr = 0;
  if (g.tid_off > 0 && fs) {
    int32_t* cached = reinterpret_cast<int32_t*>(fs + (uint64_t)g.tid_off);
    if (*cached == rec->tid) rec->ctid_addr = reinterpret_cast<uint64_t>(cached);
  }
  rec->clear_tid_addr = rec->ctid_addr;
  // What the kernel keeps per thread, read by the thread itself (the checkpoint thread would read
  // its own): its name, its parent-death signal, its personality (the checkpoint thread was made
  // before the program changed the main thread's).
  __builtin_memset(rec->comm, 0, sizeof rec->comm);
  sys::prctl(16 /*PR_GET_NAME*/, (long)rec->comm, 0, 0, 0);
  rec->comm[sizeof rec->comm - 1] = 0;
  int pds = 0;
  sys::prctl(2 /*PR_GET_PDEATHSIG*/, (long)&pds, 0, 0, 0);
  rec->pdeathsig = (uint32_t)pds;
  rec->personality = (uint32_t)sys::personality(0xffffffff);
  // Its scheduling (nice, policy, I/O priority, timer slack) and no_new_privs: per thread in
  // Linux, and set by the program on the thread that asked (a batch job's nice 7, a daemon's
  // 50 ms slack, a sandbox's no_new_privs).
  long slack = sys::prctl(30 /*PR_GET_TIMERSLACK*/, 0, 0, 0, 0);
  if (slack >= 0) {
    rec->timerslack = (uint64_t)slack < (1ull << 31) ? (uint32_t)slack
                      : (uint64_t)slack / 1000 < (1ull << 31) ? (uint32_t)((uint64_t)slack / 1000) | (1u << 31)
                                                              : 0xffffffffu;
    long pol = sys::sc1(sys::NR_sched_getscheduler, 0);
    long prio = sys::sc2(sys::NR_getpriority, 0 /*PRIO_PROCESS*/, 0);  // the raw call: 20 - nice
    long io = sys::sc2(sys::NR_ioprio_get, 1 /*IOPRIO_WHO_PROCESS*/, 0);
    if (pol >= 0 && prio >= 0 && io >= 0) {
      rec->policy = (uint8_t)((pol & 0x7f) | ((pol & 0x40000000 /*SCHED_RESET_ON_FORK*/) ? 0x80 : 0));
      rec->nice = (int8_t)(20 - prio);
      if ((pol & 0x7f) == 1 /*FIFO*/ || (pol & 0x7f) == 2 /*RR*/) {
        int32_t sp = 0;
        if (sys::sc2(sys::NR_sched_getparam, 0, (long)&sp) == 0) rec->nice = (int8_t)sp;
      }
      rec->ioprio = (uint16_t)io;
      rec->flags |= AMBER_THR_SCHED;
    }
  }
  if (sys::prctl(39 /*PR_GET_NO_NEW_PRIVS*/, 0, 0, 0, 0) == 1) rec->flags |= AMBER_THR_NO_NEW_PRIVS;
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

extern "C" {
[[noreturn]] void amber_ctx_restore(const amber_ctx*);
long amber_clone_thread(unsigned long flags, void* stack, int32_t* ptid, int32_t* ctid, unsigned long tls,
                        void (*fn)(void*), void* arg);
}

namespace rs {
namespace {
constexpr uint64_t kThreadStack = 64 * 1024;

// This thread's scheduling as saved. Lowering nice, a real-time policy or the real-time I/O class
// need privilege (or RLIMIT_NICE/RLIMIT_RTPRIO, restored before): what the kernel refuses is
// said, the thread keeps what the restart gave it.
void sched_restore(const amber_thread& t) {
  uint64_t slack = (t.timerslack & (1u << 31)) ? (uint64_t)(t.timerslack & ~(1u << 31)) * 1000 : t.timerslack;
  if (t.timerslack != 0xffffffffu) sys::prctl(29 /*PR_SET_TIMERSLACK*/, (long)slack, 0, 0, 0);
  const char* what = nullptr;
  long r = 0;
  int pol = t.policy & 0x7f;
  bool rt = pol == 1 || pol == 2;
  if (!rt && (r = sys::sc3(sys::NR_setpriority, 0 /*PRIO_PROCESS*/, 0, t.nice)) < 0) what = "its nice value";
  int32_t sp = rt ? t.nice : 0;
  long r2 = sys::sc3(sys::NR_sched_setscheduler, 0, pol | ((t.policy & 0x80) ? 0x40000000 : 0), (long)&sp);
  if (r2 < 0 && !what) { what = "its scheduling policy"; r = r2; }
  long r3 = sys::sc3(sys::NR_ioprio_set, 1 /*IOPRIO_WHO_PROCESS*/, 0, t.ioprio);
  if (r3 < 0 && !what) { what = "its I/O priority"; r = r3; }
  if (what) {
    char msg[1200];
    sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": thread ").i(t.vtid).s(": cannot set ").s(what).s(" back (errno ").i(-r).s(")\n");
    sys::write_all(2, msg, sys::slen(msg));
  }
}

[[noreturn]] void enter_thread(const amber_thread& t) {
  if (S.v.proc->proc_flags & AMBER_PROC_EXT) {
    // Per thread: its name (a clone inherits the main thread's), its personality, its parent-death
    // signal (after the fork: the restored parent is the one whose death it waits for).
    char comm[16];
    memcpy(comm, t.comm, sizeof comm);
    comm[15] = 0;
    if (comm[0]) sys::prctl(15 /*PR_SET_NAME*/, (long)comm, 0, 0, 0);
    sys::personality(t.personality);
    if (t.pdeathsig) sys::prctl(1 /*PR_SET_PDEATHSIG*/, (long)t.pdeathsig, 0, 0, 0);
  }
  if (t.flags & AMBER_THR_SCHED) sched_restore(t);
  // Cannot be cleared once set, and needs nothing to set; the restorer does not exec after this.
  if (t.flags & AMBER_THR_NO_NEW_PRIVS) sys::prctl(38 /*PR_SET_NO_NEW_PRIVS*/, 1, 0, 0, 0);
  if (t.ss_size && !(t.ss_flags & 2 /*SS_DISABLE*/)) {
    struct { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; } ss = {t.ss_sp, t.ss_flags, 0, t.ss_size};
    sys::sigaltstack(&ss, nullptr);
  }
  if (t.gs_base) sys::arch_prctl(0x1001 /*ARCH_SET_GS*/, t.gs_base);
  if (t.rseq_len && t.rseq_addr) {
    // Clear any stale critical-section pointer, then register the same area again (PITFALLS 1).
    *reinterpret_cast<volatile uint64_t*>(t.rseq_addr + 8) = 0;
    sys::rseq((void*)t.rseq_addr, t.rseq_len, 0, t.rseq_sig);
  }
  amber_ctx_restore(&t.ctx);
}

void thread_entry(void* arg) { enter_thread(*static_cast<const amber_thread*>(arg)); }
}  // namespace

uint64_t threads_stack_bytes(uint32_t nthreads) { return (uint64_t)(nthreads + 1) * kThreadStack; }

void threads_start(amber_handoff* h) {
  // Threads: each starts on a small stack in the blob, sets up what is per thread, then jumps.
  const unsigned long flags = 0x100 /*VM*/ | 0x200 /*FS*/ | 0x400 /*FILES*/ | 0x800 /*SIGHAND*/ |
                              0x10000 /*THREAD*/ | 0x40000 /*SYSVSEM*/ | 0x80000 /*SETTLS*/ |
                              0x100000 /*PARENT_SETTID*/;
  for (uint32_t i = 0; i < S.v.nthreads; i++) {
    if ((int)i == S.main_idx) continue;
    const amber_thread& t = S.v.threads[i];
    unsigned long fl = flags;
    // glibc's struct pthread caches the tid and pthread_join waits on it (PITFALLS 2): the
    // kernel writes the new tid there (CHILD_SETTID) and clears it at exit (CHILD_CLEARTID).
    if (t.ctid_addr) fl |= 0x01000000 /*CHILD_SETTID*/ | 0x00200000 /*CHILD_CLEARTID*/;
    char* stack = S.blob + S.stacks_at + (uint64_t)(i + 1) * kThreadStack;
    long r = amber_clone_thread(fl, stack, &h->new_tids[i], (int32_t*)t.ctid_addr, t.fs_base, thread_entry, (void*)&t);
    if (r < 0) die(EXIT_SYSTEM, "cannot create a thread", nullptr, r);
  }
}

[[noreturn]] void threads_enter_main(amber_handoff* h) {
  const amber_thread& m = S.v.threads[S.main_idx];
  if (m.ctid_addr) {
    *reinterpret_cast<volatile int32_t*>(m.ctid_addr) = h->new_pid;
    sys::set_tid_address((void*)m.clear_tid_addr);
  }
  sys::arch_prctl(0x1002 /*ARCH_SET_FS*/, m.fs_base);
  enter_thread(m);
}
}  // namespace rs
#endif
