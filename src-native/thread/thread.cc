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
