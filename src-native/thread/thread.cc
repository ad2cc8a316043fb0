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
// Threads with a working directory and umask of their own (unshare(CLONE_FS)) are listed in
// amber_process_ext.thread_fs by group; threads_start gives each group its own fs in turn. A
// process whose main thread had ended (AMBER_PROC_MAIN_EXITED) has no main record: the restorer's
// main thread makes the others, then ends with exit (threads_enter_main), a zombie leader again.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include <signal.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"
#include "sys/sys.h"

// glibc >= 2.35 exports where each thread's rseq area lives (weak: absent on older libcs).
extern "C" {
extern const unsigned int __rseq_size __attribute__((weak));
extern const ptrdiff_t __rseq_offset __attribute__((weak));
}

namespace amber {
namespace {
// An rseq area the thread registered itself (glibc's registration turned off, a runtime's own).
struct OwnRseq { uint64_t addr; uint32_t len, sig; };
__thread OwnRseq t_own_rseq __attribute__((tls_model("initial-exec")));
}  // namespace

void note_rseq(long addr, long len, long flags, long sig, long r) {
  if (r != 0) return;
  if (flags & 1 /*RSEQ_FLAG_UNREGISTER*/) t_own_rseq = OwnRseq{};
  else t_own_rseq = OwnRseq{(uint64_t)addr, (uint32_t)len, (uint32_t)sig};
}

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
  // The thread's own (then glibc's is off: the kernel takes one registration per thread). Its
  // memory, this note included, comes back with the process; a fork's child inherits both.
  if (t_own_rseq.addr) {
    rec->rseq_addr = t_own_rseq.addr;
    rec->rseq_len = t_own_rseq.len;
    rec->rseq_sig = t_own_rseq.sig;
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
  // Where the kernel clears the tid at the thread's exit (and wakes a futex there): glibc's own
  // cached tid for its threads, but a thread made by a raw clone(CLONE_CHILD_CLEARTID) (a
  // runtime's own threads) has it elsewhere, and its creator waits there for it to end.
  uint64_t clear_at = 0;
  rec->clear_tid_addr = sys::prctl(40 /*PR_GET_TID_ADDRESS*/, (long)&clear_at, 0, 0, 0) == 0 ? clear_at : rec->ctid_addr;
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
  // The machine-check kill policy (PR_MCE_KILL_SET: a database asking for SIGBUS as soon as memory
  // is found corrupt), per thread and inherited by the threads it makes.
  long mce = sys::prctl(34 /*PR_MCE_KILL_GET*/, 0, 0, 0, 0);
  if (mce == 0 /*LATE*/ || mce == 1 /*EARLY*/) rec->flags |= AMBER_THR_MCE_SET | (mce == 1 ? AMBER_THR_MCE_EARLY : 0);
}

// Working directories of their own. A thread that called unshare(CLONE_FS) (a pool that chdirs
// per task, Go's runtime for some calls) has a cwd, root and umask no other thread sees; threads
// it makes with CLONE_FS share them. The reference is the checkpoint thread's fs, the one the
// process record's cwd and umask are read from (the main thread may have unshared too, or ended:
// an ended thread has no fs). kcmp(KCMP_FS) says which threads share one; without kcmp, a thread
// whose cwd or umask differs from the reference has one of its own (alone), one whose are the
// same is taken as sharing it.
namespace {
// Thread tid's cwd (NUL terminated into buf, 4 KiB) and umask. False when the thread is gone.
bool fs_of(int32_t tid, char* buf, uint32_t* um) {
  char path[64], st[2048];
  sys::Out(path, sizeof path).s("/proc/self/task/").i(tid).s("/cwd");
  long l = sys::readlink(path, buf, 4095);
  if (l < 0) return false;
  buf[l] = 0;
  sys::Out(path, sizeof path).s("/proc/self/task/").i(tid).s("/status");
  size_t n = sys::read_file(path, st, sizeof st - 1);
  st[n] = 0;
  *um = 0;
  for (const char* p = st; *p;) {
    if (sys::sstarts(p, "Umask:")) {
      p += 6;
      while (*p == ' ' || *p == '\t') p++;
      *um = (uint32_t)sys::parse_u(&p, 8);
      return true;
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  return n > 0;
}

// Does thread b share thread a's fs? 0 yes, 1 no, -1 gone. Without kcmp, by cwd and umask.
int fs_differs(int32_t a, int32_t b, const char* cwd_a, uint32_t um_a, char* tmp) {
  long k = sys::sc5(312 /*kcmp*/, a, b, 3 /*KCMP_FS*/, 0, 0);
  if (k >= 0) return k == 0 ? 0 : 1;
  if (k == -ESRCH) return -1;
  uint32_t um = 0;
  if (!fs_of(b, tmp, &um)) return -1;
  return um == um_a && sys::seq(tmp, cwd_a) ? 0 : 1;
}

bool same_root(int32_t a, int32_t b, char* x, char* y) {
  char path[64];
  sys::Out(path, sizeof path).s("/proc/self/task/").i(a).s("/root");
  long la = sys::readlink(path, x, 4095);
  sys::Out(path, sizeof path).s("/proc/self/task/").i(b).s("/root");
  long lb = sys::readlink(path, y, 4095);
  if (la < 0 || lb < 0) return true;  // (gone: nothing to say)
  x[la] = 0;
  y[lb] = 0;
  return sys::seq(x, y);
}
}  // namespace

// Groups tids[0..n) by fs against the checkpoint thread's: group[i] 0 shares it, 1, 2, ... one of
// their own. Says (into err) what cannot be restored: a root of its own (chroot needs privilege),
// a working directory that was removed. work: kThreadFsWork bytes. Returns 0 or -errno.
long threads_fs_group(const int32_t* tids, uint32_t n, uint32_t* group, char* work, char* err, size_t errlen) {
  char* a = work;
  char* b = work + 4096;
  char* t = work + 8192;  // 2 x 4 KiB
  int32_t* rep = reinterpret_cast<int32_t*>(work + 16384);  // each group's first thread
  uint32_t um0 = 0;
  if (!fs_of(g.ckpt_tid, a, &um0)) a[0] = 0;
  uint32_t ngroups = 1;
  rep[0] = g.ckpt_tid;
  bool kcmp_ok = true;
  for (uint32_t i = 0; i < n; i++) {
    group[i] = 0;
    if (tids[i] == g.ckpt_tid) continue;
    if (fs_differs(g.ckpt_tid, tids[i], a, um0, t) <= 0) continue;  // the same, or gone
    uint32_t um = 0;
    if (!fs_of(tids[i], b, &um)) continue;
    if (!same_root(g.ckpt_tid, tids[i], t, t + 4096)) {
      sys::Out(err, errlen).s("thread ").i(pid::to_app_tid(tids[i])).s(" has a root directory of its own (chroot after "
          "unshare(CLONE_FS)): amber cannot set it again, so it cannot checkpoint this one");
      return -EINVAL;
    }
    size_t bl = sys::slen(b);
    if (bl >= 10 && sys::seq(b + bl - 10, " (deleted)")) {
      sys::Out(err, errlen).s("thread ").i(pid::to_app_tid(tids[i])).s(" has a working directory of its own that was removed (")
          .s(b).s("): amber cannot make it again, so it cannot checkpoint this one");
      return -ENOENT;
    }
    uint32_t k = 1;
    for (; k < ngroups && kcmp_ok; k++) {
      long e = sys::sc5(312 /*kcmp*/, rep[k], tids[i], 3 /*KCMP_FS*/, 0, 0);
      if (e == 0) break;
      if (e < 0 && e != -ESRCH) kcmp_ok = false;  // no kcmp: one of its own each
    }
    if (!kcmp_ok) k = ngroups;
    if (k == ngroups) rep[ngroups++] = tids[i];
    group[i] = k;
  }
  return 0;
}

// The image's list of threads with an fs of their own (amber_process_ext.thread_fs), every thread
// parked: the slots are the thread table.
long threads_fs_capture(Capture& c) {
  c.ext->thread_fs = amber_str{0, 0};
  char* work = static_cast<char*>(c.a.take(kThreadFsWork));
  int32_t* tids = static_cast<int32_t*>(c.a.take(sizeof(int32_t) * g.nslots));
  uint32_t* group = static_cast<uint32_t*>(c.a.take(sizeof(uint32_t) * g.nslots));
  amber_thread_fs* recs = static_cast<amber_thread_fs*>(c.a.take(sizeof(amber_thread_fs) * g.nslots));
  if (!work || !tids || !group || !recs) return c.fail(-ENOMEM, "scratch exhausted");
  for (uint32_t i = 0; i < g.nslots; i++) tids[i] = g_slots[i].tid;
  char why[512];
  why[0] = 0;
  if (long r = threads_fs_group(tids, g.nslots, group, work, why, sizeof why); r < 0) return c.fail(r, why);
  uint32_t n = 0;
  for (uint32_t i = 0; i < g.nslots; i++) {
    if (!group[i]) continue;
    amber_thread_fs& f = recs[n];
    __builtin_memset(&f, 0, sizeof f);
    f.thread = i;
    f.group = group[i];
    if (!fs_of(tids[i], work, &f.umask)) continue;  // (parked: cannot be gone)
    f.cwd = c.str.add(work, sys::slen(work));
    n++;
  }
  if (n) {
    uint32_t at = c.str.len;
    c.str.append(recs, sizeof(amber_thread_fs) * n);
    c.ext->thread_fs = amber_str{at, (uint32_t)(n * sizeof(amber_thread_fs))};
  }
  if (c.str.full) return c.fail(-E2BIG, "the image's string space is full (threads' working directories)");
  return 0;
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
  if (t.flags & AMBER_THR_MCE_SET)
    sys::prctl(33 /*PR_MCE_KILL*/, 1 /*PR_MCE_KILL_SET*/, (t.flags & AMBER_THR_MCE_EARLY) ? 1 : 0, 0, 0);
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

namespace {
// Thread i's record in the thread_fs list (amber_process_ext), or false: it shares the process's.
bool thread_fs_of(uint32_t i, amber_thread_fs* out) {
  const char* d;
  uint32_t len;
  if (!S.v.pext->thread_fs.len || !amber_str_at(&S.v, S.v.pext->thread_fs, &d, &len)) return false;
  for (uint32_t k = 0; k < len / sizeof(amber_thread_fs); k++) {
    memcpy(out, d + (uint64_t)k * sizeof *out, sizeof *out);
    if (out->thread == i) return true;
  }
  return false;
}

uint32_t group_of(int i) {
  amber_thread_fs f;
  return i >= 0 && thread_fs_of((uint32_t)i, &f) ? f.group : 0;
}

void clone_thread(amber_handoff* h, uint32_t i) {
  // CLONE_FS: the thread shares the fs this (main) thread has now, its group's (threads_start).
  const unsigned long flags = 0x100 /*VM*/ | 0x200 /*FS*/ | 0x400 /*FILES*/ | 0x800 /*SIGHAND*/ |
                              0x10000 /*THREAD*/ | 0x40000 /*SYSVSEM*/ | 0x80000 /*SETTLS*/ |
                              0x100000 /*PARENT_SETTID*/;
  const amber_thread& t = S.v.threads[i];
  unsigned long fl = flags;
  // glibc's struct pthread caches the tid and pthread_join waits on it (PITFALLS 2): the
  // kernel writes the new tid there (CHILD_SETTID) and clears it at exit (CHILD_CLEARTID).
  // Any other thread gets its clear-at-exit address alone: what is stored there is the
  // program's (the tid it was told, not this run's).
  int32_t* ctid = (int32_t*)t.ctid_addr;
  if (t.ctid_addr) {
    fl |= 0x01000000 /*CHILD_SETTID*/ | 0x00200000 /*CHILD_CLEARTID*/;
  } else if (t.clear_tid_addr) {
    fl |= 0x00200000 /*CHILD_CLEARTID*/;
    ctid = (int32_t*)t.clear_tid_addr;
  }
  char* stack = S.blob + S.stacks_at + (uint64_t)(i + 1) * kThreadStack;
  long r = amber_clone_thread(fl, stack, &h->new_tids[i], ctid, t.fs_base, thread_entry, (void*)&t);
  if (r < 0) die(EXIT_SYSTEM, "cannot create a thread", nullptr, r);
}

void clone_group(amber_handoff* h, uint32_t grp) {
  for (uint32_t i = 0; i < S.v.nthreads; i++)
    if ((int)i != S.main_idx && group_of((int)i) == grp) clone_thread(h, i);
}

// This (main) thread takes an fs of its own (the one its threads so far keep) with f's cwd and
// umask. A directory gone since leaves it in the process's, said, as process.cc does.
void switch_fs(const amber_thread_fs& f) {
  sys::sc1(272 /*unshare*/, 0x200 /*CLONE_FS*/);
  char cwd[4096];
  str_of(S.v, f.cwd, cwd, sizeof cwd);
  if (long r = sys::chdir(cwd); r < 0) {
    char msg[1200];
    sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": thread ").i(S.v.threads[f.thread].vtid).s("'s working directory ")
        .s(cwd).s(" is gone (errno ").i(-r).s("); it stays in the process's\n");
    sys::write_all(2, msg, sys::slen(msg));
  }
  sys::umask((int)f.umask);
}
}  // namespace

void threads_start(amber_handoff* h) {
  // Threads: each starts on a small stack in the blob, sets up what is per thread, then jumps.
  if (!S.v.pext->thread_fs.len) {
    clone_group(h, 0);
    return;
  }
  // Some threads have an fs of their own (amber_thread_fs). A thread can only share the fs of the
  // thread that makes it (CLONE_FS) or get a copy of it: so this thread takes each group's fs in
  // turn (unshare, chdir, umask) and makes that group's threads sharing it; the group it had at
  // the checkpoint last, keeping it. The process's (group 0, the checkpoint thread's) is the one
  // process_restore_state set up: its threads come first when the main thread is not among them,
  // else this thread comes back to it through a descriptor onto it.
  const uint32_t gmain = group_of(S.main_idx);
  uint32_t um0 = (uint32_t)sys::umask(022);
  sys::umask((int)um0);
  long here = -1;
  if (gmain == 0) {
    here = sys::open(".", 010000000 /*O_PATH*/ | sys::O_CLOEXEC_ | 0200000 /*O_DIRECTORY*/);
    if (here >= 0) here = lift(here);  // (above the program's numbers: its threads may run already)
  } else {
    clone_group(h, 0);
  }
  const char* d = "";
  uint32_t len = 0;
  amber_str_at(&S.v, S.v.pext->thread_fs, &d, &len);
  const uint32_t n = len / (uint32_t)sizeof(amber_thread_fs);
  for (uint32_t k = 0; k < n; k++) {
    amber_thread_fs f;
    memcpy(&f, d + (uint64_t)k * sizeof f, sizeof f);
    bool first = true;  // the group's first record: its threads are made now
    for (uint32_t j = 0; j < k && first; j++) {
      amber_thread_fs o;
      memcpy(&o, d + (uint64_t)j * sizeof o, sizeof o);
      first = o.group != f.group;
    }
    if (!first || f.group == gmain) continue;
    switch_fs(f);
    clone_group(h, f.group);
  }
  if (gmain == 0) {
    sys::sc1(272 /*unshare*/, 0x200 /*CLONE_FS*/);
    if (here >= 0) sys::sc1(sys::NR_fchdir, here);
    sys::umask((int)um0);
    if (here >= 0) sys::close((int)here);
    clone_group(h, 0);
  } else {
    amber_thread_fs f;
    thread_fs_of((uint32_t)S.main_idx, &f);
    switch_fs(f);
    clone_group(h, gmain);
  }
}

[[noreturn]] void threads_enter_main(amber_handoff* h) {
  if (S.main_idx < 0) {
    // The main thread had ended (pthread_exit; AMBER_PROC_MAIN_EXITED): so does this one, with
    // the exit system call (exit_group would end the threads just made). The process lives on
    // with its leader a zombie, as it was; the agent waits for it to be one before it unmaps the
    // code this runs (agent.cc on_restart). Nothing of it to clear at its exit.
    sys::set_tid_address(nullptr);
    for (;;) sys::sc1(sys::NR_exit, 0);
  }
  const amber_thread& m = S.v.threads[S.main_idx];
  if (m.ctid_addr) *reinterpret_cast<volatile int32_t*>(m.ctid_addr) = h->new_pid;
  if (m.ctid_addr || m.clear_tid_addr) sys::set_tid_address((void*)m.clear_tid_addr);
  sys::arch_prctl(0x1002 /*ARCH_SET_FS*/, m.fs_base);
  enter_thread(m);
}
}  // namespace rs
#endif
