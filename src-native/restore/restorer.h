// What the restorer's pieces share (restorer only: compiled with AMBER_RESTORER, no libc).
//
// The restorer is one driver (restore/main.cc) and the rebuild halves of every kind of state,
// each in the file that also captures it (fd/, mem/, proc/, thread/; see src-native/README.md).
// This header is their common ground: the tree being restored (T), the process being restored
// (S), messages, the run-time allocator and the descriptor helpers every kind uses.
//
// Memory: no malloc, no fixed tables. Everything sized by the images is taken from rs::alloc
// (anonymous mmap) after the images are read and before the tree is forked; stage 3 unmaps it
// with everything else, so what stage 3 still needs is copied into the blob (S.*).
#ifndef AMBER_RESTORER_H
#define AMBER_RESTORER_H

#ifndef AMBER_RESTORER
#error "restore/restorer.h is for the restorer only"
#endif

#include <stddef.h>
#include <stdint.h>

#include "fd/ops.h"
#include "image/format.h"
#include "image/validate.h"
#include "sys/sys.h"

// The freestanding C runtime (restore/util.cc): the compiler may call these, and so do we.
extern "C" {
void* memcpy(void* d, const void* s, size_t n);
void* memmove(void* d, const void* s, size_t n);
void* memset(void* d, int c, size_t n);
int memcmp(const void* x, const void* y, size_t n);
}

namespace rs {

constexpr uint64_t kPage = 4096;
enum Exit { EXIT_IMAGE = 3, EXIT_HOST = 4, EXIT_SYSTEM = 5 };

// One saved process of the tree (its image, read and validated in stage 1).
struct Img {
  char* path;             // absolute image path (messages, the hand-off)
  int imgfd;
  int parent;             // index of its parent image, -1 for the root
  bool orphan;            // --orphan: its parent died before the checkpoint (it was adopted by a
                          //   subreaper outside the computation, or init); forked by `parent`
                          //   through a process that exits, so it is adopted again
  int first_child, next_sibling;  // children, in the order they are forked
  int main_idx;           // its main thread in the thread table (-1: it had ended, AMBER_PROC_MAIN_EXITED)
  uint64_t file_size;
  uint64_t dev, ino;       // the file stage 1 checked (stage 2 opens it again: the same one)
  amber_header hdr;
  // Points into the tree's metadata, which exists only until the fork: a tree of thousands must
  // not give every process a copy of every image's metadata (that is quadratic memory and fork
  // work). After the fork each process reads its own image's metadata again (checked against
  // hdr.meta_xxh, so it is the metadata that was validated).
  amber_view v;
  // What forking the tree needs of each process after the metadata is gone (amber_process).
  struct { int32_t app_pid, pgid, sid, tpgid; uint64_t ctty_rdev; } ses;
  int32_t* prep;          // per saved descriptor: the object made for it before the fork, or -1
  bool fds_sorted;        // fd table sorted by number (find_fd may bisect)
  bool stdio_known;       // its descriptors say which are the launcher's stdio (fd/stdio.cc)
  const char* creds;      // --creds: what the kernel showed of a process of another user, whose
                          //   image file the coordinator made for it (proc/creds.cc), or null
};

// One saved descriptor of the tree, in the index the kinds walk before the fork.
struct Ref {
  uint64_t inode;
  uint32_t img, idx;
  fd::Kind kind;
};

// `--share P:FD,...`: saved descriptors that were one open file description.
struct ShareFd { uint32_t grp; int img; int32_t fd; };
// `--sockfd P:FD:N`: a connection restart made to another tree, inherited as our fd N.
struct PassedSock { int img; int32_t fd; int nfd; };

// The process tree being restored. Built before the fork; each forked process keeps a copy.
// A shared memory object made before the fork (mem/shmem.cc), mapped at addr in every process.
struct ShmObj { uint64_t dev, inode, addr, size; };

struct Tree {
  Img* img;
  int n;
  int me;                  // the image this process restores (after the fork)
  int maxfd;               // highest saved descriptor number in the tree
  Ref* refs;               // every saved descriptor (not the restart's stdio), by (kind, inode)
  uint32_t nrefs;
  uint32_t kind_at[fd::kKinds + 1];  // refs of kind K: [kind_at[K], kind_at[K+1])
  ShareFd* share;          // --share entries, a group's entries together
  uint32_t nshare, ngroups;
  PassedSock* passed;
  uint32_t npassed;
  // Every saved descriptor of the tree as one record number (image k's descriptor i is
  // rec_base[k] + i), and the records of each descriptor number (settle()).
  uint32_t* rec_base;
  uint32_t* rec_img;
  int32_t* at_head;        // [0, maxfd]: first record saved at that number, -1
  int32_t* at_next;        // next record at the same number, -1
  uint32_t* pending;       // records assigned an object since the last settle()
  uint32_t npending;
  ShmObj* shm;             // shared memory objects made before the fork (mem/shmem.cc)
  uint32_t nshm;
  // +1 (0: none): a pipe holding one token byte, the tree's lock around setting up an epoll
  // instance several processes share (fd/epoll.cc): read to take, write back to give.
  int32_t epoll_gate_r1, epoll_gate_w1;
};
extern Tree T;

// The process this restorer becomes (stages 2 and 3 run from the blob, which holds a copy of
// everything here: the restorer's own .bss travels with its code).
struct State {
  char image[1024];       // absolute image path (messages and the hand-off)
  char coord[256];        // AMBER_COORD: the coordinator the restored agent joins
  char token[80];         // AMBER_TOKEN: its token, for a TCP coordinator
  int imgfd;
  int coord_fd1;          // +1: a connection to the coordinator made before the ids changed (proc/creds.cc)
  uint64_t file_size;
  amber_header hdr;
  amber_view v;
  char* blob;             // [code copy][meta][prep][maps buffer][vdso temp][thread stacks][main stack]
  uint64_t blob_len, code_len, meta_at, prep_at, maps_at, maps_len, vtemp_at, vtemp_len, stacks_at,
      main_stack_top;
  uint64_t load_base;     // where the kernel loaded us (for stage-2 address translation)
  int main_idx;
  int32_t* prep;          // this image's prepared descriptors, copied into the blob
  ShmObj* shm;            // the tree's shared memory objects, copied into the blob
  uint32_t nshm;
  uint64_t shm_at;
  uint64_t cur_vvar, cur_vvar_len, cur_vclock, cur_vclock_len, cur_vdso, cur_vdso_len;
};
extern State S;

// The restored process's descriptor table being rebuilt (stage 3, fd/fd.cc).
struct Proc {
  const amber_view* v;
  int32_t* prep;          // prepared before the fork (lifted), or -1
  bool* done;             // already put back (a kind may put several descriptors back at once)
  int img;
};

// ---- messages: one line, "amber: <image>: <what>" ----
void put(const char* s);
[[noreturn]] void die(int code, const char* what, const char* detail = nullptr, long err = 0,
                      uint64_t offset = ~0ull);
[[noreturn]] void die_img(const amber_err& e);
void warn_fd(const char* what, const amber_fd& f, long err, const char* then);
void warn_me(const char* what, long err);  // "process <app pid>: what"
void zombies_restore();  // proc/zombie.cc: unreaped children, stage 3
int32_t zombie_new_pid(int32_t app);  // proc/zombie.cc: after zombies_restore, 0 when not one of them

// ---- run-time memory (anonymous mmap; gone in stage 3) ----
void* alloc(uint64_t bytes);  // zeroed; dies when the system has no memory left
template <typename T_> T_* alloc_n(uint64_t n) { return static_cast<T_*>(alloc(n * sizeof(T_))); }

// Before the fork: image img's file (opened again, checked to be the one stage 1 read), and
// closing those again before the fork.
int image_fd(int img);
void images_close();

// ---- small helpers ----
const char* str_of(const amber_view& v, amber_str s, char* buf, size_t cap);
bool is_deleted(const char* path);  // readlink's " (deleted)" suffix
bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1);
// Heap sort (no recursion, no allocation) of n elements by less(a, b).
template <typename E, typename L>
void sort(E* a, uint64_t n, L less) {
  auto sift = [&](uint64_t root, uint64_t end) {
    for (;;) {
      uint64_t c = 2 * root + 1;
      if (c >= end) return;
      if (c + 1 < end && less(a[c], a[c + 1])) c++;
      if (!less(a[root], a[c])) return;
      E t = a[root]; a[root] = a[c]; a[c] = t;
      root = c;
    }
  };
  for (uint64_t i = n / 2; i-- > 0;) sift(i, n);
  for (uint64_t e = n; e > 1; e--) {
    E t = a[0]; a[0] = a[e - 1]; a[e - 1] = t;
    sift(0, e - 1);
  }
}

// ---- descriptors (fd/fd.cc) ----
// A new descriptor moved above every saved descriptor number of the tree, so that making the next
// object can never take (and dup3 never clobber) a number that is still to be restored. Before
// the fork, running out of numbers is refused with the RLIMIT_NOFILE it hit.
long lift(long fd);
// Puts fd (a lifted temporary) at the saved number with the saved status and descriptor flags,
// then closes fd. Returns fd's validity (false: nothing placed). restart_stdio: fd is the restart's own
// stdio, which keeps its O_APPEND (fd.cc kSetflStdio).
bool put_back(long fd, const amber_fd& f, bool restart_stdio = false);
long devnull(const amber_fd& f);
// A file, directory or device reopened at path with the saved flags (and a file's offset); lifted.
long reopen(const amber_fd& f, const char* path);             // fd/file.cc
long reopen_saved(Proc& p, uint32_t i);                       // its saved path, or -1 if deleted
void check_open_files(int img, uint32_t kind);                // stage 1: refuse a missing one
// The saved descriptor number fd of image img, as an index into its fd table, or -1.
int find_fd(int img, int32_t fd);
// Descriptors that become the restart's own stdin/stdout/stderr (fd/stdio.cc): the kinds leave
// them alone.
int restart_stdio_index(const amber_fd& f, int img);
inline bool restart_stdio(const amber_fd& f, int img) { return restart_stdio_index(f, img) >= 0; }
// Before the fork: saved descriptor idx of image img gets the object at fd (lifted), which every
// forked process inherits. A kind assigns every record of the objects it made, then settles them.
void assign(int img, uint32_t idx, long fd);
// Moves each object assigned since the last settle() to one of the numbers it is saved at when no
// other object in the tree is saved at that number (there every process that has the number wants
// this very object): the object is then already in place in every process, and the restorer needs
// numbers only up to the highest saved one. An object whose numbers are all contested (fd 3 of
// two processes, each its own socket) stays lifted above them.
void settle();
// Refs of one kind (the tree index).
inline Ref* refs_begin(fd::Kind k) { return T.refs + T.kind_at[(int)k]; }
inline Ref* refs_end(fd::Kind k) { return T.refs + T.kind_at[(int)k + 1]; }
inline const amber_fd& fd_of(const Ref& r) { return T.img[r.img].v.fds[r.idx]; }

// ---- the mechanisms' restorer halves ----
// fd/fd.cc
void fds_check(int img);         // stage 1: every descriptor can be rebuilt here
void fds_index();                // builds T.refs (after every image is read)
void fds_prepare();              // before the fork: objects shared by several processes
void fds_forked();               // after the fork: what names a process by its new pid
void fds_restore(Proc& p);       // stage 3
void close_strays();             // stage 3: descriptors the process did not have
void mqueue_notify_again(Proc& p);  // ipc/mqueue.cc: mq_notify registrations, after the last close
void fds_locks(Proc& p);         // stage 3, after the last close: locks and leases
// mem/vdso.cc
void vdso_read_current(char* buf, uint64_t cap);
void vdso_check();
void vdso_place();
// mem/regions.cc
template <typename F> void each_mapping(char* buf, uint64_t cap, F fn);
void regions_check_files();
void regions_map();
void regions_lock();  // after the limits (RLIMIT_MEMLOCK) are back
void aio_adopt(const amber_region& r);  // mem/aio.cc: r's saved ring, mapped, becomes a context again
void aio_resubmit();  // mem/aio.cc, stage 3 after the descriptors: requests in flight submitted again
void unmap_everything_else();
// mem/shmem.cc: shared memory objects (shared anonymous memory, deleted files and memfds mapped
// MAP_SHARED) made once before the fork, so every process maps the one object again.
void shmem_prepare();                      // before the fork (after fds_prepare)
bool shmem_keeps(uint64_t s, uint64_t e);  // stage 3: a range unmap_everything_else leaves
bool shmem_map(const amber_region& r, int prot, long* addr);  // stage 3: r mapped from its object
void shmem_release();                      // stage 3, after every region is mapped
long remake_deleted_file(const char* saved);  // fd/file.cc
// ipc/sysvshm.cc: SysV shared memory, the segments themselves (kept by id)
void sysvshm_check();                       // stage 1, per image: its segments are still there
void sysvshm_prepare();                     // before the fork: their bytes as saved
bool sysvshm_map(uint32_t i, long* addr);   // stage 3: region i attached again (false: not SysV)
// ipc/sem.cc: SysV semaphore undo adjustments
void sem_check();    // stage 1, per image: the sets are still there
void sem_restore();  // stage 3: this process's adjustments taken again
void creds_check(const char* bound);  // proc/creds.cc, stage 1: the restart can give the process its credentials
void creds_restore();  // stage 3, before the threads are made
void sysv_ids_check();  // ipc/msg.cc, stage 1: the SysV queues and sets the process uses exist
// proc/process.cc
void process_restore_mm();
void process_restore_state();
// proc/signals.cc
void signals_restore();
// proc/timers.cc
void timers_restore();
// A timer's time left at the checkpoint (sec, nsec) on clock clk, made what is left now: less the
// time that clock ran since the checkpoint (never below 1 ns: a passed deadline fires at once).
// False when the timer was disarmed (0): it stays so.
bool amber_time_left(int clk, int64_t* sec, int64_t* nsec);
// proc/tree.cc
void tree_link();                // children lists, from the parents
void tree_prepare();             // group leaders, the shared page
void tree_fork();                // forks the tree; returns in every process with T.me set
int32_t tree_real_pid(int32_t app_pid);  // after the fork: the new kernel pid of that process, -1 if not ours
// fd/pty.cc: the slave of a pty rebuilt before the fork whose device is rdev, or -1
int pty_slave_for(uint64_t rdev);
// thread/thread.cc
uint64_t threads_stack_bytes(uint32_t nthreads);
void threads_start(amber_handoff* h);
[[noreturn]] void threads_enter_main(amber_handoff* h);

// Calls fn(start, end, name) for every line of /proc/self/maps, read into buf.
template <typename F>
void each_mapping(char* buf, uint64_t cap, F fn) {
  long fd = sys::open("/proc/self/maps", sys::O_RDONLY_ | sys::O_CLOEXEC_);
  if (fd < 0) die(EXIT_SYSTEM, "cannot read /proc/self/maps", nullptr, fd);
  uint64_t len = 0;
  for (;;) {
    long r = sys::read((int)fd, buf + len, cap - 1 - len);
    if (r <= 0) break;
    len += (uint64_t)r;
    if (len == cap - 1) die(EXIT_SYSTEM, "/proc/self/maps is larger than the restorer's buffer");
  }
  sys::close((int)fd);
  buf[len] = 0;
  const char* p = buf;
  while (*p) {
    const char* q = p;
    uint64_t s = sys::parse_u(&q, 16);
    q++;
    uint64_t e = sys::parse_u(&q, 16);
    const char* eol = q;
    while (*eol && *eol != '\n') eol++;
    const char* name = eol;
    while (name > q && name[-1] != ' ') name--;
    char nm[32];
    size_t n = (size_t)(eol - name) < sizeof nm - 1 ? (size_t)(eol - name) : sizeof nm - 1;
    memcpy(nm, name, n);
    nm[n] = 0;
    fn(s, e, nm);
    p = *eol ? eol + 1 : eol;
  }
}

}  // namespace rs

#endif
