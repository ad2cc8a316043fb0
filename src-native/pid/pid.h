// Pid virtualization (pid.cc): the app-visible <-> kernel pid and tid maps.
//
// Two maps, both empty until the first restart (every lookup is then one load and a branch):
//  - the pid map of the whole computation, from the coordinator's `pidmap` line (set_map);
//  - the tid map of this process's own threads: app tid (the kernel tid a thread had when it was
//    first created) -> its kernel tid in this incarnation (set_tid_map / adopt_restored_tids).
// The tid lookups fall back to the pid map: a main thread's tid is its process's pid, and the
// kernel takes a tid wherever it takes a pid (sched_*, getpriority, /proc/<tid>), so every pid
// argument goes through to_real_tid.
#ifndef AMBER_PID_H
#define AMBER_PID_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
namespace amber {
namespace pid {
void set_map(const char* text);  // "APP:REAL,APP:REAL,..." from the coordinator's `pidmap` line
int32_t to_real(int32_t app);    // negative values (process groups) keep their sign
int32_t to_app(int32_t real);

// Changes each time the maps are replaced (a restart's `pidmap`). A wrapper translates an id and
// then calls the kernel: a checkpoint and restart can land between the two (the thread suspended
// in user space, past our translation), and the call then names the previous run's kernel id —
// ECHILD from a waitpid for a child that is there, ESRCH from a kill. The call is made again with
// a fresh translation when it failed so and the maps changed meanwhile (with_fresh_ids).
uint32_t map_version();
template <class Call>
inline auto with_fresh_ids(Call call) -> decltype(call()) {
  for (;;) {
    uint32_t v = map_version();
    auto r = call();
    if (r != -1 || (errno != ESRCH && errno != ECHILD) || map_version() == v) return r;
  }
}

// Depth of the agent's wait wrappers on this thread (wait, waitpid, wait3, wait4, waitid): a
// wait4/waitid a checkpoint interrupts there returns through the wrapper, which takes the result
// to the application's ids. One interrupted anywhere else (inside libc: system(), pclose(); a
// raw syscall) has its result taken there by the re-issue trampoline (syscall/rewind.cc).
extern __thread uint32_t t_in_wait __attribute__((tls_model("initial-exec")));
struct WaitScope {
  WaitScope() { t_in_wait++; }
  ~WaitScope() { t_in_wait--; }
  WaitScope(const WaitScope&) = delete;
  WaitScope& operator=(const WaitScope&) = delete;
};

// Replaces the tid map (n entries of app[i] -> real[i]; entries with a value <= 0 are skipped).
// No allocation (a fixed .bss table of AMBER_MAX_THREADS); call while the application's threads
// are parked (readers see an empty map, i.e. pass-through, while it is being replaced).
void set_tid_map(const int32_t* app, const int32_t* real, uint32_t n);
// Builds the tid map of a restored process from the thread table (g_slots[i].rec.tid: the kernel
// tids at checkpoint) and the restorer's hand-off (g_handoff.new_tids[i]), translating the old
// kernel tids through the map of the checkpointed run. Idempotent for one incarnation: the
// restart path may call it early (agent on_restart) and set_map calls it again harmlessly.
void adopt_restored_tids();
// "APP:REAL,..." of this process's moved non-main threads from pair *i on, what fits in out (its
// length; 0 when none is left): the `tids` lines of a restarted agent (docs/PROTOCOL.md).
size_t moved_tids(uint32_t* i, char* out, size_t cap);
int32_t to_real_tid(int32_t app);  // tid map, then pid map (sign kept as to_real)
int32_t to_app_tid(int32_t real);  // tid map, then pid map

// CPU-time clock ids (clock_getcpuclockid, pthread_getcpuclockid) encode a pid or tid: the
// application's ids in the ones it holds, this run's kernel ids in the ones the kernel takes
// (pid/clock.cc). Other clock ids pass unchanged.
int32_t clock_to_real(int32_t clk);
int32_t clock_to_app(int32_t clk);

// /proc/<pid>/stat and status read after a restart (proc.cc): on a descriptor open on one, the
// text with the application's ids from offset off (-1: the descriptor's position, advanced);
// false when fd is not such a descriptor. id_files_restarted marks the restored ones.
bool id_file_read(int fd, void* buf, size_t n, int64_t off, ssize_t* out);
bool id_files_marked();  // any descriptor ever opened on one (read wrappers' fast test)
void id_files_closed(unsigned first, unsigned last);  // descriptors first..last closed
void id_files_restarted();

// SO_PEERCRED across a restart (peercred.cc): every Unix socket's peer pid noted at capture
// (after peercred_begin), its socket's new inode learnt at restart.
void peercred_begin();
void peercred_note(int fd, uint64_t ino);
void peercred_restarted();

// CPU time across a restart (clock.cc): the process's and its reaped children's read at the
// checkpoint become offsets at restart; each thread keeps its own through the suspend handler.
extern int64_t g_proc_off, g_child_off;
extern __thread int64_t t_thread_off __attribute__((tls_model("initial-exec")));
void cputime_checkpoint();  // checkpoint thread, every thread parked
void cputime_restarted();   // on restart, before the program runs
void cputime_forked();      // a child forked: its clocks start from zero
int64_t thread_cpu_now();   // the calling thread's CPU time as the program sees it (ns)
void thread_cpu_restored(int64_t saved);
bool cputime_offset();
int64_t cputime_off(int32_t clk);

// True once any map is non-empty: the fast-path test of the path wrappers (proc.cc).
bool active();
// The path an exec must run: /proc paths rewritten as open's are (proc.cc); buf PATH_MAX + 32.
const char* exec_path(const char* p, char* buf, size_t cap);

// What the application sees for itself (also used by syscall(SYS_getpid...)).
int32_t app_getpid();
int32_t app_getppid();
int32_t app_gettid();
}  // namespace pid
}  // namespace amber
#endif
