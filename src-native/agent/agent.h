// Internal interface between the agent's pieces (agent.cc: lifecycle, suspend/resume, coordinator
// link; writer.cc: the image writer, over the capture halves of fd/, mem/, proc/, thread/ (see
// agent/capture.h); wrappers.cc: libc wrappers). Not a public header.
#ifndef AMBER_AGENT_H
#define AMBER_AGENT_H

#include <stdint.h>
#include <stddef.h>

#include "image/format.h"
#include "sys/sys.h"

namespace amber {

enum SlotState : uint32_t { SLOT_EMPTY = 0, SLOT_SIGNALED = 1, SLOT_PARKED = 2, SLOT_RESTORED = 3, SLOT_GONE = 4 };

// One per thread being checkpointed. Filled by the checkpoint thread (tid) and by the thread
// itself inside the suspend handler (rec); lives in .bss so the handler never allocates.
struct Slot {
  volatile int32_t tid;
  volatile uint32_t state;
  amber_thread rec;
};

struct Agent {
  bool active;
  int sig;                     // the suspend signal (real-time, configurable: AMBER_SIGNAL)
  int coord_fd;                // stream socket to the coordinator (-1 when disconnected)
  int pid;                     // kernel pid of this process (refreshed at restart)
  int app_pid;                 // the pid the application sees: its kernel pid when first started
  int app_ppid;                // the parent pid it saw then (the launcher, for a root process)
  int restart_ppid;            // kernel pid of the parent that restored it (0: never restored)
  int32_t vpid, parent_vpid;
  int ckpt_tid;
  long tid_off;                // offset of glibc's cached tid in struct pthread; -1 unknown
  uint32_t generation;
  uint8_t generation_id[16];   // the coordinator's id for generation_id_gen (`generation G ID`),
  uint32_t generation_id_gen;  // written into the image header
  volatile uint32_t phase;     // 0 idle, 1 suspending/suspended
  volatile uint32_t resume_seq;// bumped to release parked threads (futex word)
  uint32_t nslots;
  char* scratch;               // anonymous scratch (NODATA in images): the writer's, then kLongLine
  size_t scratch_len;          // of the whole mapping
  char coord_path[256];         // unix socket path, or "tcp:A.B.C.D:PORT"
  char exe[4096];               // the program's /proc/self/exe when it started: after a restart the
                                // kernel's link names amber's restorer (pid/proc.cc answers this)
  char token[80];               // AMBER_TOKEN (TCP coordinators)
  volatile uint32_t send_lock;
  volatile int32_t critical;    // threads inside amber_critical_enter/exit
  char pending[1024];           // a coordinator line read by a plugin lookup, for the main loop
  bool has_pending;
  bool refused;                 // the coordinator said "refused": reconnect rarely
  bool after_restart;           // restored, waiting for the coordinator's first resume
  volatile uint32_t restarts;   // restarts this process went through (on_restart counts them)
  bool ending;                  // this checkpoint ends the computation (checkpoint --kill)
  volatile uint32_t joining;    // hello joined a generation being suspended: the program waits
                                //   (join_wait) until the checkpoint thread has suspended it
  uint32_t seccomp0;            // seccomp filters the process had when the agent started (inherited)
  uint32_t done_gen;            // the last checkpoint this process was resumed from
  volatile bool restop;         // we were stopped, continued by our parent for this checkpoint:
                                //   stop again at resume (proc/stopped.agent.cc)
  int image_fd1;                // +1: the image file the coordinator opened and passed with `write`
                                //   (SCM_RIGHTS: our process runs as a user who cannot create files
                                //   where the coordinator's root writes); 0 none. Taken by the writer.
  uint64_t root_dev, root_ino;  // the root directory the computation was launched with (AMBER_ROOT,
                                //   handed down; 0/0 unknown): a chroot since is refused by name
  volatile bool landlocked;     // the process sandboxed itself with Landlock (landlock_restrict_self
                                //   through syscall(2), here or before an exec: AMBER_LANDLOCKED);
                                //   the kernel shows a domain nowhere and amber cannot rebuild one
  char* strings_map;            // the writer's string space while it is listed in an image
  size_t strings_len;           //   (restored as an empty mapping: unmapped after a restart)
};

// The end of the scratch mapping holds a coordinator line too long for the line buffer (a pid map
// of thousands of processes); the writer has the rest. Both are NODATA in images.
constexpr size_t kLongLine = 1u << 20;

extern Agent g;

// The checkpoint thread's name (/proc/<pid>/task/<tid>/comm): how the agent of another process
// tells that process's checkpoint thread from the program's threads where the kernel counts every
// thread (getpriority of a group or user, pid/calls.cc; /proc/<pid>/task, agent/ownfd.cc). The
// thread has it from its clone on (start_ckpt_thread), so no reader sees it unnamed.
constexpr char kCkptName[] = "amber-ckpt";

// Is thread `tid` of process `pid`, named `comm`, an agent's checkpoint thread? Ours by its tid;
// another process's by its name, and never its leader: the thread that starts the checkpoint
// thread (the leader: in the constructor, in a forked child, after an exec) wears the name for
// the clone, and the restorer makes the main thread the leader.
inline bool is_ckpt_thread(int32_t pid, int32_t tid, const char* comm) {
  if (pid == g.pid) return tid == g.ckpt_tid && tid > 0;
  return tid != pid && comm && sys::seq(comm, kCkptName);
}
inline size_t writer_scratch_len() { return g.scratch_len - kLongLine; }
extern Slot g_slots[AMBER_MAX_THREADS];
extern amber_handoff g_handoff;
// Overwrites NAME's value in the environment in place (no setenv while application threads run).
void patch_env(const char* name, const char* value);

// Descriptors the last image could not make restorable, as JSON strings ("fd 5 socket:[123]",...),
// joined by commas; filled by write_image for the `written` reply.
extern char g_unrestorable[2048];
// What the restart rebuilds with a stated limit (fd/fd.cc, Capture::limit), same form, for the
// `limits` of the written reply: each a whole sentence after "fd N (path) ".
extern char g_limits[2048];
// proc/creds.cc: the process is dumpable while the agent works on it (its /proc/self files are
// then its own), the program's flag back before the program runs again.
void dumpable_raise();     // at `suspend`, before anything reads /proc/self
void dumpable_restore();   // at resume (live or restarted), before the threads are released
void dumpable_restarted(); // first thing after a restart
// proc/creds.cc: the checkpoint thread takes part in glibc's set*id broadcast (SIGSETXID) with the
// program thread's securebits and capabilities, so the results agree (else glibc aborts).
void setxid_follow_install();  // after the checkpoint thread exists
void creds_note_prctl(int option, unsigned long arg);  // the prctl wrapper: KEEPCAPS, SECUREBITS
void creds_follow();  // after the program's capset, PR_CAPBSET_DROP, PR_CAP_AMBIENT
// A connection to the coordinator for a child or an exec'd program of a process that runs as
// another user than the coordinator's root (setuid after launch), which could not connect itself
// (`conn`, docs/PROTOCOL.md); -1 when none is needed or none could be had. Not in a vfork child.
int coord_conn_for_child();
// Connections on their way to a child or an exec'd program (a checkpoint may catch a process
// holding one): the agent's own, never captured; after a restart they are gone, and the new
// program's agent connects by itself.
bool conn_in_flight(int fd);
int exec_conn_fd();
// The restart path, pid map applied, before the application runs again: descriptor owners.
void fds_restarted();

// Writes the image of this (suspended) process to path; returns 0 or -errno, and fills bytes.
// Runs on the checkpoint thread with every other thread parked: raw syscalls only, no malloc.
// sync: fsync it (false when the coordinator makes the whole generation durable at once).
// writer (forked checkpoint, `forked G`): non-null asks for the memory to be written by a forked
// copy while the program runs on (writer.cc, fork_writer). On return *writer is then > 0 in this
// process (the copy's kernel pid: the image is not written yet, the program may resume), -1 in
// the copy (which has written it and must end the checkpoint thread's work with exit_group), or 0
// when the image was written here, stopped, as without the option (nothing could be forked, or
// the process holds state a fork would disturb).
long write_image(const char* path, uint64_t* bytes, char* err, size_t errlen, bool sync, int* writer = nullptr);

// A child sharing our descriptor table or memory (clone without CLONE_THREAD): -EINVAL and why in
// err (proc/tree.cc). Called at suspend, before anything is parked.
long shared_children_check(char* err, size_t errlen);

// Seccomp filters stacked on this process now (proc/process.cc; buf: scratch of cap bytes).
uint32_t seccomp_filters(char* buf, size_t cap, const char* status = "/proc/self/status");

// After a checkpoint the process resumes: undo what capturing the descriptors changed (fd/fd.cc).
void fds_resumed();

// Fills rec (fs base, rseq, sigaltstack, mask, glibc tid address) for the calling thread
// (thread/thread.cc).
void fill_thread_record(amber_thread* rec);
// The calling thread registered (or unregistered) an rseq area of its own through syscall(2):
// noted for fill_thread_record, the kernel shows it nowhere (thread/thread.cc). r: the call's result.
void note_rseq(long addr, long len, long flags, long sig, long r);
// thread/thread.cc: threads with a working directory and umask of their own (unshare(CLONE_FS)).
// Groups tids by fs (group[i] 0: the checkpoint thread's), or says what cannot be restored.
constexpr size_t kThreadFsWork = 20480;  // the work area threads_fs_group needs
long threads_fs_group(const int32_t* tids, uint32_t n, uint32_t* group, char* work, char* err, size_t errlen);

// The real libc functions behind our wrappers (wrappers.cc).
// syscall(2) of a signal-mask or signal-action call, our signal kept ours (agent/wrappers.cc):
// true when n is one, with the kernel's answer in *r.
bool sig_syscall(long n, long a, long b, long c, long d, long e, long f, long* r);
// Linux AIO (mem/aio.cc): io_setup, io_destroy, io_submit and io_cancel (n: their numbers), the
// requests in flight noted for a checkpoint; the kernel's answer (a negative errno on failure).
namespace aio {
long call(long n, long a, long b, long c);
void parked(int32_t tid, void* uc);  // suspend handler: a thread stopped right after the AIO stub's syscall
void restarted();                    // checkpoint thread, on restart
bool submit_asleep(int32_t tid);     // before signalling tid: asleep inside io_submit (a signal would fail a request)
}  // namespace aio
int real_sigaction(int sig, const void* act, void* old);

// Unreaped children (proc/zombie.cc): the kernel pid of a zombie child by its app pid and back,
// 0 when none (pid/pid.cc consults them after its maps).
int32_t zombie_real(int32_t app);
int32_t zombie_app(int32_t real);
// After a wait that failed with ECHILD: while SIGCHLD is ignored (or SA_NOCLDWAIT), waits,
// boundedly, for children the kernel has marked dead but not yet released (proc/zombie.cc).
void echild_settle();

// Process creation (exec.cc). A fork child whose kernel pid already names another process in the
// pid map (after a restart) must exit at once: the fork wrapper reaps it and forks again.
bool pid_collides(int32_t kernel_pid);
bool fork_child_doomed();
constexpr int kForkCollisionExit = 121;

// What the agent blocks around a section no thread may be parked in (a lock held, an exec under
// way): the suspend signal and SIGSETXID (33), by which a checkpoint also parks a thread that
// blocks the suspend signal (agent.cc nudge: glibc's own helper threads block everything else).
inline uint64_t park_block_mask() { return (1ull << (g.sig - 1)) | (1ull << (33 - 1)); }

// Coordinator link (agent.cc). send is safe from any thread (a spinlock, with the suspend signal
// blocked while held so no thread parks holding it); read_line only on the checkpoint thread.
bool coord_send(const char* s, size_t n);
bool coord_read_line(char* out, size_t cap);

// Plugins (plugins.cc).
void plugins_event(int ev, const char* image);  // ev: amber_event
void plugins_json(char* buf, size_t cap, size_t* len);  // appends the JSON array
uint32_t plugins_count();
// Signals pending while a thread is parked (proc/signals.cc): each thread takes its own (and the
// main thread the process-wide ones) off the kernel's queues in the suspend handler, keeps them,
// siginfo and all, in a mapping of its own that is saved with memory, and queues them again when
// it is released, live or restored.
struct PendingSigs {
  char* map;
  uint32_t n, cap;
};
void pending_take(PendingSigs* ps);
void pending_give(PendingSigs* ps);
void pending_give_late();  // the main thread, released: what the checkpoint thread took later

// Kernel tids in mutexes across a restart (thread/mutex.agent.cc).
struct RobustHead {
  uint64_t head, len;
};
void robust_take(RobustHead* rh);                             // suspend handler
void robust_restored(const RobustHead* rh, int32_t old_tid);  // suspend handler, restored
void mutex_restarted();                                       // checkpoint thread, on restart

// Per-thread affinity and TSC mode across a restart (thread/keep.agent.cc), on the handler's stack.
struct ThreadKeep {
  uint64_t cpus[16];  // sched_getaffinity: 1,024 CPUs
  bool pinned;        // not every CPU online at the checkpoint
  int tsc;            // PR_GET_TSC
  int64_t cpu_ns;     // its CPU time as the program saw it
};
void keep_begin();                       // checkpoint thread, before any thread is signalled
void keep_take(ThreadKeep* k);            // suspend handler
void keep_restored(const ThreadKeep* k);  // suspend handler, restored

void critical_wait_clear();                     // waits (bounded) until no critical section runs

}  // namespace amber

extern "C" int amber_ctx_save(amber_ctx* c) __attribute__((returns_twice));

#endif
