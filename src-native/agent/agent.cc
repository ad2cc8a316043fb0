// libamber.so — the in-process agent. LD_PRELOADed into every process of a computation.
//
// Before main: read AMBER_* from the environment, install the suspend-signal handler, connect to
// the coordinator, start the hidden checkpoint thread. The checkpoint thread then obeys the
// coordinator (docs/PROTOCOL.md): suspend (signal every other thread; each saves its context in
// the handler and parks on a futex), write (the image), resume. On restart the restorer brings the
// threads back inside the handler and the checkpoint thread back inside do_write(); from there the
// same code path reconnects and resumes.
//
// Rules for everything reachable between suspend and resume: raw syscalls only (sys/sys.h), no
// malloc, no stdio, no locks — a parked thread may hold any libc lock.
#include "agent/agent.h"
#include "agent/ownfd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>

#include "sys/sys.h"
#include "amber/plugin.h"
#include "pid/pid.h"
#include "fd/file.h"
#include "fd/stdio.h"
#include "syscall/intr.h"
#include "proc/rlimit.h"
#include "proc/seccomp.h"
#include "proc/stopped.h"

namespace amber {

Agent g = {};
Slot g_slots[AMBER_MAX_THREADS];
amber_handoff g_handoff;

namespace {

constexpr int kCoordFdFloor = 900;  // keep our socket out of the application's low fd numbers
constexpr size_t kScratch = (64u << 20) + kLongLine;  // reserved, touched on demand, NODATA in images

// Coordinator I/O buffers, packed together: every page the agent touches is in every image.
char g_rx[2048];
size_t g_rx_len;
char g_line[1024];
char g_tx[4096];

void say(const char* a, const char* b = "", const char* c = "") {
  char buf[512];
  sys::Out o(buf, sizeof buf);
  o.s("amber: ").s(a).s(b).s(c).c('\n');
  sys::write_all(2, buf, o.len);
}

int64_t now_ns() {
  sys::ktimespec ts{};
  sys::clock_gettime(1 /*CLOCK_MONOTONIC*/, &ts);
  return ts.sec * 1000000000ll + ts.nsec;
}

void sleep_ms(int ms) {
  sys::ktimespec ts{ms / 1000, (ms % 1000) * 1000000ll};
  sys::nanosleep(&ts, nullptr);
}

// Probe the offset of the kernel tid that glibc caches in struct pthread (PITFALLS 2: 720 on
// 2.36, but never hard-coded): the thread pointer is the struct pthread on x86-64.
long probe_tid_offset() {
  uint64_t fs = 0;
  if (sys::arch_prctl(0x1003 /*ARCH_GET_FS*/, (uint64_t)&fs) < 0 || !fs) return -1;
  int tid = (int)sys::gettid();
  const int32_t* p = reinterpret_cast<const int32_t*>(fs);
  for (long off = 0; off < 2048; off += 4)
    if (p[off / 4] == tid && off != 0) return off;
  return -1;
}

bool send_line(const char* s, size_t n) { return coord_send(s, n); }

void take_generation_id(const char* p);

// A `pidmap` line names every restored process of the computation: at thousands of processes it
// is far longer than the line buffer, so it is gathered in the scratch mapping's long-line area
// (kLongLine) and applied as it completes, wherever it arrives (hello, the main loop, a plugin's
// lookup). It is only sent while the application cannot run (before main, or with every thread
// parked before `resume 0`). Other lines longer than the buffer are dropped, as before.
enum class Long { NONE, PIDMAP, DROP };
Long g_long;
size_t g_long_len;

char* long_buf() { return g.scratch + g.scratch_len - kLongLine; }

void apply_pidmap(const char* text) { pid::set_map(text); }

// Reads one '\n'-terminated line from the coordinator into g_line (blocking). false on EOF/error.
// A descriptor that came with a coordinator line (+1; 0 none), for the line that takes it: the
// image file of a `write` (Agent::image_fd1), or the connection of a `conn` (fork_conn).
int g_passed1;
// `conn`: 0 while asked, then the connection +1, or ~0 (none).
volatile uint32_t g_conn_word;
// The connection made for the child of the fork in progress (+1; 0 none): inherited by the child.
int g_child_conn1;

// Descriptors that came with a coordinator line (one at a time; anything else is closed).
void take_passed_fds(struct msghdr* mh) {
  struct cmsghdr* c = CMSG_FIRSTHDR(mh);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return;
  size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
  for (size_t i = 0; i < n; i++) {
    int fd;
    memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
    if (i == 0) {
      if (g_passed1) sys::close(g_passed1 - 1);
      // out of the program's low numbers, like our socket
      long hi = sys::fcntl(fd, F_DUPFD_CLOEXEC, kCoordFdFloor);
      if (hi >= 0) { sys::close(fd); fd = (int)hi; }
      g_passed1 = fd + 1;
    } else {
      sys::close(fd);
    }
  }
}

bool read_line() {
  if (g.has_pending) {
    memcpy(g_line, g.pending, sizeof g.pending);
    g.has_pending = false;
    return true;
  }
  for (;;) {
    size_t nl = 0;
    while (nl < g_rx_len && g_rx[nl] != '\n') nl++;
    if (g_long != Long::NONE) {
      // The rest of a long line: into the long buffer (or dropped) up to its newline.
      if (g_long == Long::PIDMAP && g_long_len + nl < kLongLine) memcpy(long_buf() + g_long_len, g_rx, nl);
      else if (g_long == Long::PIDMAP) {
        say("a pid map longer than ", "1 MiB", " was dropped: pids after this restart may be wrong");
        g_long = Long::DROP;
      }
      g_long_len += nl;
      bool done = nl < g_rx_len;
      size_t used = done ? nl + 1 : nl;
      memmove(g_rx, g_rx + used, g_rx_len - used);
      g_rx_len -= used;
      if (done) {
        if (g_long == Long::PIDMAP) {
          long_buf()[g_long_len] = 0;
          apply_pidmap(long_buf() + 7);
        }
        g_long = Long::NONE;
        continue;
      }
    } else if (nl < g_rx_len) {
      size_t n = nl < sizeof g_line - 1 ? nl : sizeof g_line - 1;
      bool pidmap = nl >= 7 && sys::sstarts(g_rx, "pidmap ");
      if (pidmap) {
        memcpy(long_buf(), g_rx, nl);
        long_buf()[nl] = 0;
      } else {
        memcpy(g_line, g_rx, n);
        g_line[n] = 0;
      }
      memmove(g_rx, g_rx + nl + 1, g_rx_len - nl - 1);
      g_rx_len -= nl + 1;
      if (!pidmap) return true;
      apply_pidmap(long_buf() + 7);
      continue;
    } else if (g_rx_len == sizeof g_rx) {
      // A line longer than the buffer: a pid map goes on in the long buffer, anything else is dropped.
      g_long = sys::sstarts(g_rx, "pidmap ") ? Long::PIDMAP : Long::DROP;
      g_long_len = 0;
      if (g_long == Long::PIDMAP) memcpy(long_buf(), g_rx, g_rx_len);
      g_long_len = g_rx_len;
      g_rx_len = 0;
      continue;
    }
    // recvmsg: a `write` line may carry the image file to write (SCM_RIGHTS, see Agent::image_fd1).
    struct iovec iov = {g_rx + g_rx_len, sizeof g_rx - g_rx_len};
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 4)];
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    long r = sys::sc3(47 /*recvmsg*/, g.coord_fd, (long)&mh, MSG_CMSG_CLOEXEC);
    if (r == -EINTR) continue;
    if (r > 0 && mh.msg_controllen >= sizeof(struct cmsghdr)) take_passed_fds(&mh);
    if (r <= 0) return false;
    g_rx_len += (size_t)r;
  }
}

// "tcp:A.B.C.D:PORT" (numeric: no resolver, which may not run while threads are parked) or a
// Unix socket path.
long connect_coord(const char* path) {
  long fd, r;
  if (sys::sstarts(path, "tcp:")) {
    const char* p = path + 4;
    uint32_t ip = 0;
    for (int k = 0; k < 4; k++) {
      uint64_t b = sys::parse_u(&p, 10);
      if (b > 255 || (k < 3 && *p != '.') || (k == 3 && *p != ':')) return -EINVAL;
      p++;
      ip = (ip << 8) | (uint32_t)b;
    }
    uint64_t port = sys::parse_u(&p, 10);
    if (*p || !port || port > 65535) return -EINVAL;
    struct sockaddr_in sa = {};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(ip);
    fd = sys::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fd;
    r = sys::connect((int)fd, &sa, (int)sizeof sa);
  } else {
    struct sockaddr_un sa = {};
    sa.sun_family = AF_UNIX;
    size_t n = sys::slen(path);
    if (n >= sizeof sa.sun_path) return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, n + 1);
    fd = sys::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fd;
    r = sys::connect((int)fd, &sa, (int)sizeof sa);
    // Issue 12: only a coordinator of our uid or root. After ours went away, another user may
    // bind the same path (a sticky /tmp): its `write` lines would have us write where it says.
    if (r >= 0) {
      struct { int32_t pid; uint32_t uid, gid; } cred = {};
      uint32_t len = sizeof cred;
      long e = sys::sc5(55 /*getsockopt*/, fd, 1 /*SOL_SOCKET*/, 17 /*SO_PEERCRED*/, (long)&cred, (long)&len);
      uint32_t me = (uint32_t)sys::sc0(107 /*geteuid*/);
      if (e < 0 || (cred.uid != me && cred.uid != 0)) r = -EPERM;
    }
  }
  if (r < 0) { sys::close((int)fd); return r; }
  long hi = sys::fcntl((int)fd, F_DUPFD_CLOEXEC, kCoordFdFloor);
  if (hi >= 0) { sys::close((int)fd); fd = hi; }
  return fd;
}

// hello: who we are. Synchronous: waits for "vpid N".
bool hello(bool restored) {
  char cmd[400];  // enough to recognise the process in `amber status`
  size_t n = sys::read_file("/proc/thread-self/cmdline", cmd, sizeof cmd - 1);
  for (size_t i = 0; i < n; i++) if (!cmd[i]) cmd[i] = ' ';
  while (n && cmd[n - 1] == ' ') n--;
  struct { char f[6][65]; } uts;
  sys::uname(&uts);
  sys::Out o(g_tx, sizeof g_tx);
  o.s("{\"t\":\"hello\",\"pid\":").i(g.pid).s(",\"apppid\":").i(g.app_pid).s(",\"ppid\":").i(sys::getppid())
      .s(",\"vpid\":").i(g.vpid).s(",\"parent\":").i(g.parent_vpid).s(",\"cmd\":\"").j(cmd, n).s("\",\"host\":\"")
      .j(uts.f[1], sys::slen(uts.f[1])).s("\",\"restored\":").s(restored ? "true" : "false")
      .s(",\"gen\":").u(restored ? g.generation : 0).s(",\"image\":\"");
  if (restored) o.j(g_handoff.image, sys::slen(g_handoff.image));
  o.s("\"");
  if (g.token[0]) o.s(",\"token\":\"").j(g.token, sys::slen(g.token)).s("\"");
  size_t pl = 0;
  o.s(",\"plugins\":");
  plugins_json(g_tx + o.len, sizeof g_tx - o.len, &pl);
  o.len += pl;
  o.s("}\n");
  if (!send_line(g_tx, o.len)) return false;
  // After a restart the coordinator sends the computation's pid map first (to a program that
  // exec'd, or a child forked since): the program must not run before getpid() is right.
  // (read_line applies those `pidmap` lines itself, however long)
  // A process that says hello while the computation is being suspended (a child forked just
  // then) joins that generation: `generation` and `suspend` come before `vpid`. The suspend is
  // kept for the checkpoint thread, and the program waits for it (join_wait) before it runs.
  char suspend_line[64];
  suspend_line[0] = 0;
  for (;;) {
    if (!read_line()) return false;
    if (sys::sstarts(g_line, "generation ")) {
      const char* p = g_line + 11;
      g.generation_id_gen = (uint32_t)sys::parse_u(&p, 10);
      take_generation_id(p);
      continue;
    }
    if (sys::sstarts(g_line, "suspend ") && sys::slen(g_line) < sizeof suspend_line) {
      memcpy(suspend_line, g_line, sys::slen(g_line) + 1);
      continue;
    }
    break;
  }
  if (sys::sstarts(g_line, "vpid ")) {
    const char* p = g_line + 5;
    g.vpid = (int32_t)sys::parse_u(&p, 10);
    if (suspend_line[0]) {
      memcpy(g.pending, suspend_line, sys::slen(suspend_line) + 1);
      g.has_pending = true;
      __atomic_store_n(&g.joining, 1u, __ATOMIC_RELEASE);
    }
    return true;
  }
  if (sys::sstarts(g_line, "refused")) {
    say("the coordinator refused this process: ", g_line);
    g.refused = true;  // a refusal is final for this coordinator: do not hammer it
  }
  return false;
}

void reply_simple(const char* t, uint32_t gen) {
  sys::Out o(g_tx, sizeof g_tx);
  o.s("{\"t\":\"").s(t).s("\",\"gen\":").u(gen).s("}\n");
  send_line(g_tx, o.len);
}

void reply_error(uint32_t gen, const char* msg) {
  sys::Out o(g_tx, sizeof g_tx);
  o.s("{\"t\":\"error\",\"gen\":").u(gen).s(",\"message\":\"").j(msg, sys::slen(msg)).s("\"}\n");
  send_line(g_tx, o.len);
}

// Lists /proc/self/task into tids; returns the count.
uint32_t list_tasks(int32_t* tids, uint32_t cap) {
  char* dbuf = g.scratch;  // NODATA scratch: not worth a page in every image
  long fd = sys::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint32_t n = 0;
  for (;;) {
    long r = sys::getdents64((int)fd, dbuf, 16384);
    if (r <= 0) break;
    for (long off = 0; off < r;) {
      const char* rec = dbuf + off;
      uint16_t reclen = *reinterpret_cast<const uint16_t*>(rec + 16);
      const char* name = rec + 19;
      if (name[0] >= '0' && name[0] <= '9' && n < cap) {
        const char* p = name;
        tids[n++] = (int32_t)sys::parse_u(&p, 10);
      }
      off += reclen;
    }
  }
  sys::close((int)fd);
  return n;
}

int find_slot(int32_t tid) {
  for (uint32_t i = 0; i < g.nslots; i++) if (g_slots[i].tid == tid) return (int)i;
  return -1;
}

// Has thread tid our signal blocked and pending (SigBlk and SigPnd of its status)? The agent's
// own coord_send blocks it for a moment: only a second of it counts (do_suspend). *blocked: the
// thread's SigBlk.
bool blocks_our_signal(int32_t tid, uint64_t* blocked) {
  char path[64], st[4096];
  sys::Out(path, sizeof path).s("/proc/self/task/").i(tid).s("/status");
  size_t n = sys::read_file(path, st, sizeof st - 1);
  st[n] = 0;
  uint64_t blk = 0, pnd = 0, bit = 1ull << (g.sig - 1);
  for (const char* p = st; *p;) {
    uint64_t* to = sys::sstarts(p, "SigBlk:") ? &blk : sys::sstarts(p, "SigPnd:") ? &pnd : nullptr;
    if (to) {
      p += 7;
      while (*p == ' ' || *p == '\t') p++;
      *to = sys::parse_u(&p, 16);
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  *blocked = blk;
  return (blk & bit) && (pnd & bit);
}

// Threads glibc makes for itself (POSIX AIO's helpers, getaddrinfo_a's) start with every signal
// blocked but SIGSETXID (33), which setuid() sends to each thread and waits for: our signal can
// never park them, and a checkpoint would fail while one works (an aio_read waiting on a pipe).
// SIGSETXID reaches them: glibc's handler for it (installed at the first pthread_create) gets a
// front of ours, which parks the thread on our own request — SI_QUEUE with kNudge; glibc's acts
// only on SI_TKILL from its setxid — and hands anything else to glibc's. The agent's sections that
// must not be parked block 33 as well (park_block_mask).
void suspend_handler(int, siginfo_t* si, void* uc);
using InfoFn = void (*)(int, siginfo_t*, void*);
InfoFn g_setxid_next;  // glibc's handler (.bss: a restored process has it back)
constexpr int kSetxid = 33;
constexpr int kNudge = 0x6e756467;  // "nudg"
struct KSigaction { uint64_t handler, flags, restorer, mask; };

void setxid_front(int sig, siginfo_t* si, void* uc) {
  if (si && si->si_code == SI_QUEUE && si->si_value.sival_int == kNudge && si->si_pid == g.pid) {
    suspend_handler(g.sig, si, uc);
    return;
  }
  if (InfoFn f = __atomic_load_n(&g_setxid_next, __ATOMIC_ACQUIRE)) f(sig, si, uc);
}

// Puts the front in place (once; also after a fork or a restart, where it is inherited). False
// when SIGSETXID has no handler of glibc's to front (no thread was ever made by pthread_create).
bool setxid_front_ready() {
  KSigaction cur{};
  if (sys::sc4(13 /*rt_sigaction*/, kSetxid, 0, (long)&cur, 8) != 0) return false;
  if (cur.handler == reinterpret_cast<uint64_t>(&setxid_front)) return true;
  if (cur.handler <= 1 /*SIG_DFL, SIG_IGN*/ || !(cur.flags & SA_SIGINFO)) return false;
  __atomic_store_n(&g_setxid_next, reinterpret_cast<InfoFn>(cur.handler), __ATOMIC_RELEASE);
  KSigaction mine = cur;
  mine.handler = reinterpret_cast<uint64_t>(&setxid_front);
  mine.flags &= ~(uint64_t)SA_ONSTACK;  // as the suspend handler: on the thread's own stack
  mine.mask = ~0ull;                    // parked threads run no application handler
  return sys::sc4(13 /*rt_sigaction*/, kSetxid, (long)&mine, 0, 8) == 0;
}

long nudge(int32_t tid) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = kSetxid;
  si.si_code = SI_QUEUE;
  si.si_pid = g.pid;
  si.si_uid = (uid_t)sys::sc0(102 /*getuid*/);
  si.si_value.sival_int = kNudge;
  return sys::sc4(297 /*rt_tgsigqueueinfo*/, g.pid, tid, kSetxid, (long)&si);
}

// Has the main thread ended (pthread_exit in main while other threads go on)? The kernel keeps
// it listed as a zombie that no signal reaches: it is not parked (waiting for it would time out)
// nor saved; the image says so (AMBER_PROC_MAIN_EXITED, proc/process.cc) and the restorer's main
// thread exits once it has made the others, a zombie leader again.
bool main_thread_exited() {
  char path[64], st[512];
  sys::Out(path, sizeof path).s("/proc/self/task/").i(g.pid).s("/stat");
  size_t n = sys::read_file(path, st, sizeof st - 1);
  st[n] = 0;
  const char* p = st + n;
  while (p > st && *p != ')') p--;  // the name may hold spaces and parentheses: the last ')'
  return p > st && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

// Parks every thread but this one. Returns 0 or -errno (then the caller resumes what parked).
long do_suspend(char* err, size_t errlen) {
  int32_t* tids = reinterpret_cast<int32_t*>(g.scratch + 16384);
  g.nslots = 0;
  memset(&g_slots[0], 0, sizeof g_slots[0]);
  g_slots[0].tid = g.ckpt_tid;
  g_slots[0].state = SLOT_PARKED;
  g.nslots = 1;
  keep_begin();  // what every thread's keep_take compares its affinity with
  // (before anything is parked: a refusal leaves nothing to undo)
  if (long r = shared_children_check(err, errlen); r < 0) return r;
  bool main_gone = main_thread_exited();
  // Threads with a working directory of their own are restored with it (thread/thread.cc); what
  // cannot be (a root of its own, a removed directory) is said now, before anything is parked.
  {
    uint32_t n = list_tasks(tids, AMBER_MAX_THREADS);
    uint32_t* group = reinterpret_cast<uint32_t*>(g.scratch + 20480);
    if (long r = threads_fs_group(tids, n, group, g.scratch + 24576, err, errlen); r < 0) return r;
  }
  __atomic_store_n(&g.phase, 1u, __ATOMIC_SEQ_CST);
  critical_wait_clear();
  int64_t deadline = now_ns() + 10ll * 1000000000;
  for (int pass = 0; pass < 64; pass++) {
    uint32_t n = list_tasks(tids, AMBER_MAX_THREADS);
    bool added = false;
    for (uint32_t i = 0; i < n; i++) {
      if (find_slot(tids[i]) >= 0) continue;
      if (tids[i] == g.pid && main_gone) continue;  // an ended main thread: nothing to park
      if (g.nslots >= AMBER_MAX_THREADS) {
        sys::Out(err, errlen).s("more than ").u(AMBER_MAX_THREADS).s(" threads");
        return -E2BIG;
      }
      if (aio::submit_asleep(tids[i])) {
        sys::Out(err, errlen).s("thread ").i(tids[i]).s(" is waiting inside io_submit (a Linux AIO read or write of a pipe, "
            "socket or terminal is done there, synchronously): the checkpoint's signal would fail that request with EINTR");
        return -EBUSY;
      }
      Slot& s = g_slots[g.nslots];
      memset(&s, 0, sizeof s);
      s.tid = tids[i];
      s.state = SLOT_SIGNALED;
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
      g.nslots++;
      if (intr::signal_thread(g.nslots - 1, g.pid, tids[i], g.sig) < 0) s.state = SLOT_GONE;
      added = true;
    }
    // Wait for every signalled thread to park (or to have exited).
    for (uint32_t i = 1; i < g.nslots; i++) {
      Slot& s = g_slots[i];
      int64_t blocked_since = 0;
      bool nudged = false;
      while (__atomic_load_n(&s.state, __ATOMIC_ACQUIRE) == SLOT_SIGNALED) {
        sys::ktimespec ts{0, 5000000};
        sys::futex_wait(&s.state, SLOT_SIGNALED, &ts);
        if (__atomic_load_n(&s.state, __ATOMIC_ACQUIRE) != SLOT_SIGNALED) break;
        if (sys::tgkill(g.pid, s.tid, 0) == -ESRCH) { s.state = SLOT_GONE; break; }
        // The main thread ended meanwhile (pthread_exit): a zombie the signal never reaches.
        if (s.tid == g.pid && main_thread_exited()) { s.state = SLOT_GONE; break; }
        uint64_t blk = 0;
        if (!blocks_our_signal(s.tid, &blk)) {
          blocked_since = 0;
        } else if (!nudged && !(blk & (1ull << (kSetxid - 1))) && setxid_front_ready()) {
          nudged = nudge(s.tid) == 0;  // (parks it through SIGSETXID; the wait goes on)
          blocked_since = now_ns();
        } else if (!blocked_since) blocked_since = now_ns();
        else if (now_ns() - blocked_since > 1000000000ll) {
          // Blocked by a way no wrapper of ours sees (a raw rt_sigprocmask, a thread libc starts
          // with a mask of its own): it would never park. Said as such, not as a timeout.
          sys::Out(err, errlen).s("thread ").i(s.tid).s(" blocks the checkpoint signal (").i(g.sig)
              .s(") and cannot be stopped");
          return -EDEADLK;
        }
        if (now_ns() > deadline) {
          sys::Out(err, errlen).s("thread ").i(s.tid).s(" did not stop within 10 s");
          return -ETIMEDOUT;
        }
      }
    }
    if (!added) break;
  }
  // Compact: threads that exited while we stopped the others are not part of the image.
  uint32_t w = 0;
  for (uint32_t i = 0; i < g.nslots; i++) {
    if (g_slots[i].state == SLOT_GONE) continue;
    if (w != i) memcpy(&g_slots[w], &g_slots[i], sizeof(Slot));
    w++;
  }
  g.nslots = w;
  pid::cputime_checkpoint();  // (every thread parked: the program's CPU time stands still)
  return 0;
}

void do_resume();

// Lets the program go on. Continued by our parent for this checkpoint (g.restop,
// proc/stopped.agent.cc): stop again first. SIGSTOP sent to this thread is taken on the way out of
// tgkill, so the whole process stops (every thread still parked in suspend_handler) before
// do_resume releases anything; do_resume runs only when something continues us, as it would
// have been continued without amber.
void release() {
  if (g.restop) {
    g.restop = false;
    sys::tgkill(g.pid, (int)sys::gettid(), SIGSTOP);
  }
  do_resume();
}

bool g_filters_due;  // restarted: the checkpoint thread's seccomp filters are installed at release

void do_resume() {
  if (g.image_fd1) { sys::close(g.image_fd1 - 1); g.image_fd1 = 0; }  // passed, never written (abort)
  dumpable_restore();  // the program's flag, before any of its threads runs
  intr::before_release();  // e.g. PI futex owners of this run, before any thread runs
  fds_resumed();
  if (g_filters_due) {  // a restart: this thread's seccomp chain (a TSYNC filter reached it)
    g_filters_due = false;
    seccomp::ckpt_restored();
  }
  __atomic_store_n(&g.phase, 0u, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&g.resume_seq, 1u, __ATOMIC_SEQ_CST);
  sys::futex_wake(&g.resume_seq, 0x7fffffff);
}

void suspend_handler(int, siginfo_t* si, void* uc) {
  int saved_errno = errno;
  int32_t tid = (int32_t)sys::gettid();
  // A park request: we were stopped and our parent continued us for checkpoint G
  // (proc/stopped.agent.cc). It was pending before anything else, so the program has not run;
  // it must not run now either: wait here until our checkpoint thread, which has the
  // coordinator's `suspend G` to read, has begun G and listed us (bounded) — whatever the phase
  // says when we arrive (a plain suspend signal of ours may have come first and found us not
  // listed yet; returning then would run the program until the next one).
  if (uint32_t want = stopped::park_generation(si)) {
    g.restop = true;
    for (int i = 0; i < 5000; i++) {
      if (__atomic_load_n(&g.phase, __ATOMIC_ACQUIRE) == 1 && g.generation >= want && find_slot(tid) >= 0) break;
      sys::ktimespec ts{0, 2000000};
      sys::nanosleep(&ts, nullptr);
    }
  } else if (__atomic_load_n(&g.phase, __ATOMIC_ACQUIRE) != 1) {
    errno = saved_errno;
    return;
  }
  int idx = find_slot(tid);
  if (idx < 0) { errno = saved_errno; return; }  // not enumerated yet: signalled again later
  Slot* volatile s = &g_slots[idx];
  uint32_t seq = __atomic_load_n(&g.resume_seq, __ATOMIC_ACQUIRE);
  intr::Call call;  // the system call we interrupted, if any (on this stack: survives a restart)
  intr::capture((uint32_t)idx, uc, &call);
  aio::parked(tid, uc);  // an io_submit/io_cancel answered, not yet noted (mem/aio.cc)
  PendingSigs pend;  // on this stack too: the signals pending for us, queued again on release
  pending_take(&pend);
  RobustHead robust;  // this thread's robust mutex list, registered again after a restart
  robust_take(&robust);
  ThreadKeep keep;  // its affinity and TSC mode, set again after a restart
  keep_take(&keep);
  int32_t filters = seccomp::thread_take(tid);  // the program's seccomp chain, installed again last
  fill_thread_record(&s->rec);
  bool restored = amber_ctx_save(&s->rec.ctx) != 0;
  if (!restored) {
    __atomic_store_n(&s->state, (uint32_t)SLOT_PARKED, __ATOMIC_RELEASE);
  } else {
    // Restart: this is a fresh kernel thread made by the restorer, in restored memory.
    robust_restored(&robust, s->rec.tid);
    keep_restored(&keep);
    __atomic_store_n(&s->state, (uint32_t)SLOT_RESTORED, __ATOMIC_RELEASE);
  }
  sys::futex_wake(&s->state, 1);
  while (__atomic_load_n(&g.resume_seq, __ATOMIC_ACQUIRE) == seq)
    sys::futex_wait(&g.resume_seq, seq, nullptr);
  pending_give(&pend);  // blocked until the handler returns: delivered as they would have been
  pending_give_late();
  if (restored) seccomp::thread_restored(filters);  // last: the filters judge only the program
  intr::resume(&call, uc, restored);  // re-run the interrupted call, with this run's ids
  errno = saved_errno;
  // Returning runs rt_sigreturn: the interrupted registers come back from the signal frame.
}

long g_connect_err;  // why the last connect_and_hello failed: -errno of connect, or -EPROTO (hello)

bool connect_and_hello(bool restored) {
  long fd;
  if ((restored && g_handoff.coord_fd1) || (!restored && g_child_conn1)) {
    // Made by the restorer before it gave the process its saved ids (proc/creds.cc), or by the
    // coordinator for the child of a fork (before_fork): as our user we could not connect.
    fd = restored ? (long)g_handoff.coord_fd1 - 1 : (long)g_child_conn1 - 1;
    g_handoff.coord_fd1 = 0;
    g_child_conn1 = 0;
    // (a socket still: a connection asked for before a restart was not brought back, and its
    // number may be anything's now, which we must neither use nor close)
    sys::kstat st{};
    if (sys::fstat((int)fd, &st) < 0 || (st.st_mode & S_IFMT) != S_IFSOCK) {
      g_connect_err = -EPROTO;
      return false;
    }
    long hi = sys::fcntl((int)fd, F_DUPFD_CLOEXEC, kCoordFdFloor);
    if (hi >= 0) { sys::close((int)fd); fd = hi; }
  } else {
    fd = connect_coord(g.coord_path);
  }
  if (fd < 0) { g_connect_err = fd; return false; }
  g.coord_fd = (int)fd;
  g_rx_len = 0;
  g_long = Long::NONE;
  if (!hello(restored)) {
    sys::close(g.coord_fd);
    g.coord_fd = -1;
    g_connect_err = -EPROTO;
    return false;
  }
  return true;
}

// The restart path of the checkpoint thread: everything is back; rejoin a coordinator and wait
// for it to resume the computation (the main loop handles "resume").
void on_restart() {
  // The restorer made this thread with every signal blocked (it is not a signal frame's thread:
  // no rt_sigreturn gives it its mask back). Ours is glibc's "all but its own": SIGCANCEL (32) and
  // SIGSETXID (33) stay open — a program's setuid/setgid after a restart waits for every thread
  // to run glibc's SIGSETXID handler, and hung on this one.
  {
    uint64_t m = ~0ull & ~(1ull << 31) & ~(1ull << 32);
    sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &m, nullptr);
  }
  dumpable_restarted();
  g_filters_due = true;
  g.pid = (int)sys::getpid();
  {
    char st[4096];
    g.seccomp0 = seccomp_filters(st, sizeof st);  // what the restart runs under
  }
  g.restart_ppid = (int)sys::getppid();
  g.ckpt_tid = (int)sys::gettid();
  // The restorer gave this thread the name it had at the checkpoint: an image written before the
  // checkpoint thread was named has the program's.
  sys::prctl(15 /*PR_SET_NAME*/, (long)kCkptName, 0, 0, 0);
  for (uint32_t i = 0; i < g.nslots; i++)
    if (g_handoff.new_tids[i] > 0) g_slots[i].tid = g_handoff.new_tids[i];
  // Wait until every restored thread has left the restorer's code, then drop the restorer. A
  // thread still in it must never lose it: with thousands of processes restored at once on a
  // couple of cores a thread can wait many seconds for its first time slice (a 10 s limit here
  // once unmapped code that was still running). Every restored thread arrives or its process
  // dies, so the wait is long; if it ever runs out, the blob is left mapped rather than pulled
  // from under a thread.
  int64_t deadline = now_ns() + 300ll * 1000000000;
  bool all_out = true;
  for (uint32_t i = 1; i < g.nslots && all_out; i++) {
    while (__atomic_load_n(&g_slots[i].state, __ATOMIC_ACQUIRE) != SLOT_RESTORED) {
      if (now_ns() >= deadline) { all_out = false; break; }
      sys::ktimespec ts{0, 2000000};
      sys::futex_wait(&g_slots[i].state, g_slots[i].state, &ts);
    }
  }
  // The main thread had ended (AMBER_PROC_MAIN_EXITED: no slot is the process): the restorer's
  // main thread ends too once it has made the others (thread/thread.cc), and runs the restorer's
  // code until then. A zombie no longer does.
  if (find_slot(g.pid) < 0) {
    while (all_out && !main_thread_exited()) {
      if (now_ns() >= deadline) { all_out = false; break; }
      sys::ktimespec ts{0, 1000000};
      sys::nanosleep(&ts, nullptr);
    }
  }
  // Every restored thread exists now (its new tid is in the hand-off): their app tids, even if
  // no pidmap follows.
  pid::adopt_restored_tids();
  pid::cputime_restarted();  // CPU clocks go on from the checkpoint's reading
  mutex_restarted();  // the tids glibc wrote into mutexes before: repaired when next used
  aio::restarted();  // requests cancelled before the checkpoint are gone with the old context
  pid::id_files_restarted();  // descriptors open on /proc/<pid>/stat|status read with app ids
  pid::peercred_restarted();  // SO_PEERCRED of the rebuilt Unix sockets: the saved peers
  if (all_out && g_handoff.blob_addr && g_handoff.blob_len)
    sys::munmap(reinterpret_cast<void*>(g_handoff.blob_addr), g_handoff.blob_len);
  // The writer's string space was listed (without data) in the image: it came back empty.
  if (g.strings_map) sys::munmap(g.strings_map, g.strings_len);
  g.strings_map = nullptr;
  g_handoff.restored = 0;
  g.after_restart = true;
  __atomic_add_fetch(&g.restarts, 1u, __ATOMIC_RELEASE);  // (the fork wrapper compares)
  // The old coordinator socket was not restored (fd kind AGENT).
  g.coord_fd = -1;
  if (g_handoff.coord[0]) {
    size_t n = sys::slen(g_handoff.coord);
    if (n >= sizeof g.coord_path) n = sizeof g.coord_path - 1;
    memcpy(g.coord_path, g_handoff.coord, n);
    g.coord_path[n] = 0;
    // The restart's token (or none): the environment in our memory is the old run's.
    size_t tn = sys::slen(g_handoff.token);
    if (tn >= sizeof g.token) tn = sizeof g.token - 1;
    memcpy(g.token, g_handoff.token, tn);
    g.token[tn] = 0;
  }
  stdio_adopt(g_handoff);
  g.refused = false;
  if (!connect_and_hello(true)) {
    // No coordinator to resume us: carry on alone rather than hang the application.
    char why[64];
    sys::Out(why, sizeof why).s(" (errno ").i(-g_connect_err).s("); resuming without it");
    say("restart: cannot reach the coordinator at ", g.coord_path, why);
    fds_restarted();
    stopped::absorb();
    release();  // (stopped at the checkpoint: stopped again)
    return;
  }
  plugins_event(AMBER_EV_RESTART, g_handoff.image);
  // Our threads' new tids, before `restarted`: the coordinator's pid map carries them to the
  // other processes (a parent that signals its child's thread by the tid it was told).
  for (uint32_t i = 0;;) {
    char pairs[3072];
    if (!pid::moved_tids(&i, pairs, sizeof pairs)) break;
    sys::Out t(g_tx, sizeof g_tx);
    t.s("{\"t\":\"tids\",\"map\":\"").s(pairs).s("\"}\n");
    send_line(g_tx, t.len);
  }
  sys::Out o(g_tx, sizeof g_tx);
  o.s("{\"t\":\"restarted\",\"gen\":").u(g.generation).s(",\"pid\":").i(g.pid).s("}\n");
  send_line(g_tx, o.len);
}

// `generation G ID` (sent just before `suspend G`): ID is the generation's 128-bit id in 32 hex
// digits. It goes into the image header, which binds the image to its manifest. An older
// coordinator sends none: the id stays zero (do_write zeroes one left from another generation).
void take_generation_id(const char* p) {
  memset(g.generation_id, 0, sizeof g.generation_id);
  if (*p != ' ') return;
  p++;
  for (int i = 0; i < 16; i++) {
    char pair[3] = {p[0], p[0] ? p[1] : (char)0, 0};
    const char* q = pair;
    uint64_t v = sys::parse_u(&q, 16);
    if (q != pair + 2) { memset(g.generation_id, 0, sizeof g.generation_id); return; }
    g.generation_id[i] = (uint8_t)v;
    p += 2;
  }
}

// "cannot write X" + ": No space left on device": the coordinator's message must say why.
void with_cause(char* err, size_t cap, long r) {
  const char* why = r < 0 ? strerrordesc_np((int)-r) : nullptr;
  if (!why) return;
  size_t n = sys::slen(err);
  sys::Out o(err + n, cap - n);
  o.s(": ").s(why);
}

// `nosync GEN` (docs/PROTOCOL.md): the coordinator, on this host, makes generation GEN durable
// with one syncfs once every image is written, so this image need not be fsync'ed on its own
// (thousands of fsyncs, each a journal commit, were most of a checkpoint of thousands of processes).
uint32_t g_nosync_gen;
// `forked GEN` (docs/PROTOCOL.md): generation GEN's memory is written by a forked copy while the
// program runs on (writer.cc fork_writer): the `write` is answered `captured` once only the
// writer is left to finish, and the writer itself answers `written` (or `error`) on our
// connection when the image is durable.
uint32_t g_forked_gen;

void do_write(uint32_t gen, const char* path_in) {
  g.generation = gen;
  if (g.generation_id_gen != gen) memset(g.generation_id, 0, sizeof g.generation_id);
  // path_in points into the line buffer, which a plugin's lookup in the hook may reuse.
  char path[600];
  sys::Out(path, sizeof path).s(path_in);
  plugins_event(AMBER_EV_PRECHECKPOINT, nullptr);
  Slot* self = &g_slots[0];
  fill_thread_record(&self->rec);
  if (amber_ctx_save(&self->rec.ctx) != 0) {
    on_restart();
    return;
  }
  g.generation = gen;
  char tmp[600], err[256];
  err[0] = 0;
  sys::Out(tmp, sizeof tmp).s(path).s(".tmp");
  int64_t t0 = now_ns();
  uint64_t bytes = 0;
  // Durable before it is named: write PATH.tmp, fsync (in write_image), rename, fsync the dir
  // (under `nosync` the coordinator's syncfs makes file and name durable before the manifest).
  bool sync = g_nosync_gen != gen;
  // The program's RLIMIT_FSIZE must not cut the image (proc/rlimit.agent.cc).
  rlim::raise_for_write();
  // An image file the coordinator passed: it renames it and syncs the directory (we may have no
  // right to either there).
  bool handed = g.image_fd1 != 0;
  // Our kernel parent at the checkpoint (the forked writer's own is init).
  int ppid = (int)sys::getppid();
  int writer = 0;
  long r = write_image(tmp, &bytes, err, sizeof err, sync, g_forked_gen == gen ? &writer : nullptr);
  if (writer > 0) {
    // Everything is captured and the rest of the image is the writer's: the program may resume
    // (the coordinator says when, with `resume`). The writer's pid lets the coordinator tell a
    // writer that died from one still writing.
    rlim::after_write(false);
    plugins_event(AMBER_EV_WRITE, path);  // (forked: its content is fixed; durable once `written`)
    sys::Out o(g_tx, sizeof g_tx);
    o.s("{\"t\":\"captured\",\"gen\":").u(gen).s(",\"writer\":").i(writer).s("}\n");
    send_line(g_tx, o.len);
    return;
  }
  if (writer == 0) rlim::after_write(r == -EFBIG);
  if (r == -EFBIG) {
    uint64_t k[2] = {0, 0};
    sys::prlimit(0, 1 /*RLIMIT_FSIZE*/, nullptr, k);
    size_t n = sys::slen(err);
    sys::Out(err + n, sizeof err - n).s(" (the process's RLIMIT_FSIZE hard limit is ").u(k[1]).s(" bytes, set before launch: the image needs more)");
  }
  if (r >= 0 && !handed && (r = sys::rename(tmp, path)) < 0) sys::Out(err, sizeof err).s("cannot rename ").s(tmp);
  if (r >= 0 && sync && !handed) {
    char dir[600];
    size_t n = sys::slen(path);
    while (n && path[n - 1] != '/') n--;
    sys::Out(dir, sizeof dir).sn(path, n ? n : 1);
    if (!n) dir[0] = '.';
    long dfd = sys::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { sys::fsync((int)dfd); sys::close((int)dfd); }
  }
  if (r < 0) {
    if (!err[0]) sys::Out(err, sizeof err).s("write failed, errno ").i(-r);
    with_cause(err, sizeof err, r);
    reply_error(gen, err);
    if (writer < 0) sys::exit_group(1);
    return;
  }
  // (no plugin code in the writer: a copy of a process whose other threads may hold any lock)
  if (writer == 0) plugins_event(AMBER_EV_WRITE, path);
  int64_t dt = now_ns() - t0;
  sys::Out o(g_tx, sizeof g_tx);
  o.s("{\"t\":\"written\",\"gen\":").u(gen).s(",\"image\":\"").j(path, sys::slen(path))
      .s("\",\"bytes\":").u(bytes).s(",\"seconds\":").u((uint64_t)dt / 1000000000).c('.');
  uint64_t frac = ((uint64_t)dt % 1000000000) / 1000;
  char f[7];
  for (int k = 5; k >= 0; k--) { f[k] = (char)('0' + frac % 10); frac /= 10; }
  o.sn(f, 6);
  if (g_unrestorable[0]) o.s(",\"unrestorable\":[").s(g_unrestorable).c(']');
  // The generation id the image header carries: the coordinator then binds the image (issue 12).
  uint8_t any = 0;
  for (uint8_t b : g.generation_id) any |= b;
  if (any) {
    o.s(",\"id\":\"");
    for (uint8_t b : g.generation_id) o.c("0123456789abcdef"[b >> 4]).c("0123456789abcdef"[b & 15]);
    o.c('"');
  }
  if (g_limits[0]) o.s(",\"limits\":[").s(g_limits).c(']');
  // Our kernel parent now: an orphan adopted by a subreaper (PR_SET_CHILD_SUBREAPER) is that
  // process's child, not its first parent's, and is restored under it.
  o.s(",\"ppid\":").i(ppid);
  o.s("}\n");
  send_line(g_tx, o.len);
  // The writer's work ends here: it never returns to the checkpoint thread's loop (its one thread
  // is a copy of it). Its connection is the process's: the line above is one write, whole.
  if (writer < 0) sys::exit_group(0);
}


void join_done() {
  if (!__atomic_exchange_n(&g.joining, 0u, __ATOMIC_ACQ_REL)) return;
  sys::futex_wake(&g.joining, 0x7fffffff);
}

// The program's thread after a hello that joined a generation: no application code runs before
// the checkpoint thread has parked this thread (the suspend signal lands in this wait), so what is
// written is the process as it was at its fork, and it cannot exit before it is in the image.
void join_wait() {
  while (__atomic_load_n(&g.joining, __ATOMIC_ACQUIRE)) {
    sys::ktimespec ts{0, 50000000};
    sys::futex_wait(&g.joining, 1u, &ts);
  }
}

void* ckpt_main(void*) {
  g.ckpt_tid = (int)sys::gettid();
  for (;;) {
    if (g.coord_fd < 0) {
      // The coordinator went away: the application keeps running; try to rejoin one started
      // again on the same socket path (it re-adopts us by our vpid). After a refusal, back off.
      sleep_ms(g.refused ? 30000 : 1000);
      connect_and_hello(false);
      continue;
    }
    if (!read_line()) {
      sys::close(g.coord_fd);
      g.coord_fd = -1;
      join_done();
      if (g.phase) {
        stopped::absorb();
        release();  // never leave the application frozen (one that was stopped, stopped)
      }
      continue;
    }
    const char* p = g_line;
    if (sys::sstarts(p, "suspend ")) {
      p += 8;
      uint32_t gen = (uint32_t)sys::parse_u(&p, 10);
      // "suspend GEN end": the computation ends after this checkpoint (checkpoint --kill), so
      // capture may take state the program would otherwise still see (a listener's pending
      // connections: fd/socket.cc).
      g.ending = sys::sstarts(p, " end");
      char err[256];
      err[0] = 0;
      g.generation = gen;
      stopped::drop_own_park();
      plugins_event(AMBER_EV_PRESUSPEND, nullptr);
      dumpable_raise();  // (do_resume puts the program's flag back on every way out)
      if (do_suspend(err, sizeof err) < 0) {
        join_done();
        // (a process that stops again says why first: it answers nothing once stopped)
        if (g.restop) reply_error(gen, err);
        bool said = g.restop;
        release();
        if (!said) reply_error(gen, err);
        continue;
      }
      join_done();  // parked now: a program held by join_wait goes on when it is resumed
      stopped::continue_children();  // stopped children cannot answer unless continued
      reply_simple("suspended", gen);
    } else if (sys::sstarts(p, "generation ")) {
      p += 11;
      g.generation_id_gen = (uint32_t)sys::parse_u(&p, 10);
      take_generation_id(p);
    } else if (sys::sstarts(p, "nosync ")) {
      p += 7;
      g_nosync_gen = (uint32_t)sys::parse_u(&p, 10);
    } else if (sys::sstarts(p, "forked ")) {
      p += 7;
      g_forked_gen = (uint32_t)sys::parse_u(&p, 10);
    } else if (sys::sstarts(p, "write ")) {
      p += 6;
      uint32_t gen = (uint32_t)sys::parse_u(&p, 10);
      if (*p == ' ') p++;
      if (g_passed1) {  // the image file the coordinator made for us
        if (g.image_fd1) sys::close(g.image_fd1 - 1);
        g.image_fd1 = g_passed1;
        g_passed1 = 0;
      }
      if (!g.phase) { reply_error(gen, "write before suspend"); continue; }
      do_write(gen, p);
    } else if (sys::seq(p, "conn")) {
      __atomic_store_n(&g_conn_word, g_passed1 ? (uint32_t)g_passed1 : ~0u, __ATOMIC_RELEASE);
      g_passed1 = 0;
      sys::futex_wake(&g_conn_word, 1);
    } else if (sys::sstarts(p, "resume ") || sys::sstarts(p, "abort ")) {
      const char* q = p + (p[0] == 'r' ? 7 : 6);
      uint32_t gen = (uint32_t)sys::parse_u(&q, 10);
      if (!g.phase && !g.after_restart) {
        // Already running: a forked generation resumed us at `captured` and failed later (its
        // `abort`). Nothing is parked; releasing again would undo what resume did twice.
        reply_simple("resumed", gen);
        continue;
      }
      bool was_restart = g.after_restart;
      g.after_restart = false;
      if (was_restart) fds_restarted();  // descriptor owners, now that the pid map is known
      stopped::absorb();  // children we continued for the checkpoint are stopped again
      // Continued by our parent for the checkpoint: stopped again before any thread is released
      // (release), after saying so.
      g.done_gen = g.generation;  // park requests for it (proc/stopped.agent.cc) are stale now
      if (g.restop) {
        // Said before we stop (our parent's `resumed` waits until we are stopped again).
        reply_simple("resumed", gen);
        release();
      } else {
        do_resume();
        reply_simple("resumed", gen);
      }
      if (!was_restart) plugins_event(AMBER_EV_RESUME, nullptr);
      if (was_restart) patch_env("AMBER_COORD", g.coord_path);  // for programs exec'd from now on
    }
  }
  return nullptr;
}

void export_identity() {
  // For our children: an exec'd child (same pid) keeps our vpid, a forked one names us as parent.
  char b[24];
  sys::Out(b, sizeof b).i(g.vpid);
  setenv("AMBER_VPID", b, 1);
  sys::Out(b, sizeof b).i(g.pid);
  setenv("AMBER_VPID_PID", b, 1);
  sys::Out(b, sizeof b).i(g.parent_vpid);
  setenv("AMBER_PARENT_VPID", b, 1);
}

bool start_ckpt_thread() {
  // The checkpoint thread blocks every signal: application signals go to application threads.
  // Raw: pthread_sigmask is our own wrapper here, which keeps the suspend signal unblocked; the
  // checkpoint thread must block it too, or a park request (proc/stopped.agent.cc) queued to it
  // lands in suspend_handler and it waits there for itself. glibc's own two (SIGCANCEL 32 and
  // SIGSETXID 33, which setuid and friends send to every thread and wait for) stay unblocked, as
  // pthread_sigmask would leave them.
  uint64_t all = ~((1ull << (32 - 1)) | (1ull << (33 - 1))), old = 0;
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &all, &old);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 256 * 1024);
  pthread_t th;
  // Named from its clone on: a clone takes its creator's name, so this thread wears kCkptName
  // across pthread_create and takes its own back. A name the new thread set itself would leave it
  // looking like one of the program's threads until it first runs (on a loaded machine long after
  // a forked child told its parent it is ready), and waiting here for that would hold up every
  // process start. Readers never take a leader for the checkpoint thread (is_ckpt_thread), and
  // this thread is the leader (the constructor, a forked child, after an exec).
  char mine[16] = {};
  bool renamed = sys::prctl(16 /*PR_GET_NAME*/, (long)mine, 0, 0, 0) == 0 &&
                 sys::prctl(15 /*PR_SET_NAME*/, (long)kCkptName, 0, 0, 0) == 0;
  bool ok = pthread_create(&th, &at, ckpt_main, nullptr) == 0;
  if (renamed) sys::prctl(15 /*PR_SET_NAME*/, (long)mine, 0, 0, 0);
  // Its tid as soon as it exists (glibc's cached tid, set by the clone): our own readers (readdir
  // of /proc/self/task, getpriority) know it by tid, and the program may list its threads before
  // the new thread first runs.
  if (ok && g.tid_off > 0) {
    int32_t tid = *reinterpret_cast<const volatile int32_t*>(reinterpret_cast<const char*>(th) + g.tid_off);
    if (tid > 0) g.ckpt_tid = tid;
  }
  pthread_attr_destroy(&at);
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &old, nullptr);
  if (!ok) say("cannot start the checkpoint thread");
  return ok;
}

// A forked child is a new process of the computation: it gets its own vpid (its parent is the
// forker) and its own checkpoint thread. glibc has reset its locks before running this handler,
// and we are the only thread, so our own state is reset here too.
// Before a fork (pthread_atfork): a process that now runs as another user than the coordinator's
// (setuid after launch) could not connect its child to it: that user may not use a root
// coordinator's socket. It asks the coordinator for a connection (`conn`) the child inherits.
void before_fork() {
  g_child_conn1 = 0;
  int fd = coord_conn_for_child();
  if (fd >= 0) g_child_conn1 = fd + 1;
}
}  // namespace

int coord_conn_for_child() {
  // Twice at most: a restart while we waited (the checkpoint parked this thread here) makes
  // whatever came the previous run's, a connection to a coordinator that is gone, which the
  // restart did not bring back (conn_in_flight: the agent's, not captured); the new one is asked.
  for (int attempt = 0; attempt < 2; attempt++) {
    uint32_t epoch = __atomic_load_n(&g.restarts, __ATOMIC_ACQUIRE);
    if (!g.active || g.coord_fd < 0 || sys::sstarts(g.coord_path, "tcp:")) return -1;
    uint32_t euid = (uint32_t)sys::sc0(107 /*geteuid*/);
    struct { int32_t pid; uint32_t uid, gid; } cred = {};
    uint32_t len = sizeof cred;
    if (euid == 0 || sys::sc5(55 /*getsockopt*/, g.coord_fd, 1 /*SOL_SOCKET*/, 17 /*SO_PEERCRED*/, (long)&cred, (long)&len) < 0 ||
        cred.uid == euid)
      return -1;
    __atomic_store_n(&g_conn_word, 0u, __ATOMIC_RELEASE);
    static const char kConn[] = "{\"t\":\"conn\"}\n";
    if (!send_line(kConn, sizeof kConn - 1)) return -1;
    // Bounded: a coordinator that does not know `conn` leaves the child uncheckpointed, as before.
    int64_t deadline = now_ns() + 5ll * 1000000000;
    uint32_t w;
    while ((w = __atomic_load_n(&g_conn_word, __ATOMIC_ACQUIRE)) == 0 && now_ns() < deadline &&
           __atomic_load_n(&g.restarts, __ATOMIC_ACQUIRE) == epoch) {
      sys::ktimespec ts{0, 100000000};
      sys::futex_wait(&g_conn_word, 0, &ts);
    }
    if (__atomic_load_n(&g.restarts, __ATOMIC_ACQUIRE) != epoch) {
      __atomic_store_n(&g_conn_word, 0u, __ATOMIC_RELEASE);
      continue;
    }
    return w != 0 && w != ~0u ? (int)w - 1 : -1;
  }
  return -1;
}

namespace {
void after_fork_parent() {
  if (g_child_conn1) sys::close(g_child_conn1 - 1);
  g_child_conn1 = 0;
}

void after_fork_child() {
  // Discarded before it touches anything shared (the coordinator socket is the parent's).
  if (g.active && fork_child_doomed()) sys::exit_group(kForkCollisionExit);
  if (g.coord_fd >= 0) sys::close(g.coord_fd);
  g.coord_fd = -1;
  g.send_lock = 0;
  ownfd::forked();         // readdir's table of directories, its lock maybe held by another thread
  pid::cputime_forked();  // a new process: its CPU clocks start from zero
  fd::dnotify_forked();   // dnotify registrations belong to the parent's descriptor table
  inotify::forked();      // queued inotify events kept at a checkpoint are the parent's to read
  fanotify::forked();     // ... and fanotify events
  g.phase = 0;
  g.nslots = 0;
  g.has_pending = false;
  g.joining = 0;
  g_rx_len = 0;
  g_long = Long::NONE;
  g.after_restart = false;
  g.restop = false;
  if (!g.active) return;
  g.parent_vpid = g.vpid;
  g.vpid = 0;
  g.pid = (int)sys::getpid();
  g.app_pid = g.pid;
  g.app_ppid = pid::to_app((int32_t)sys::getppid());
  g.restart_ppid = 0;
  g.active = false;
  bool ok = connect_and_hello(false);
  // A connection the parent asked for before a restart that came between its request and the
  // fork is dead: our own, if our user may connect.
  if (!ok && g_connect_err == -EPROTO) ok = connect_and_hello(false);
  if (!ok) return;  // the coordinator is gone: run on, uncheckpointed
  g.active = true;
  export_identity();
  if (!start_ckpt_thread()) join_done();
  join_wait();
}

__attribute__((constructor)) void agent_init() {
  const char* coord = getenv("AMBER_COORD");
  if (!coord || !*coord) return;
  size_t n = strlen(coord);
  if (n >= sizeof g.coord_path) { say("AMBER_COORD too long; not checkpointing"); return; }
  memcpy(g.coord_path, coord, n + 1);
  {
    long e = sys::readlink("/proc/self/exe", g.exe, sizeof g.exe - 1);
    g.exe[e > 0 ? e : 0] = 0;
  }
  g.sig = SIGRTMAX - 2;
  if (const char* s = getenv("AMBER_SIGNAL")) {
    int v = atoi(s);
    if (v >= SIGRTMIN && v <= SIGRTMAX) g.sig = v;
    else say("AMBER_SIGNAL must be a real-time signal number; using the default");
  }
  if (const char* t = getenv("AMBER_TOKEN")) {
    size_t tn = strlen(t);
    if (tn < sizeof g.token) memcpy(g.token, t, tn + 1);
  }
  g.pid = (int)sys::getpid();
  // The launch's root directory, "dev:ino", handed down the tree (an exec inside a chroot starts
  // a new agent that must still know the old root).
  if (const char* r = getenv("AMBER_ROOT")) {
    const char* q = r;
    g.root_dev = sys::parse_u(&q, 10);
    if (*q == ':') q++;
    g.root_ino = sys::parse_u(&q, 10);
  } else {
    sys::kstat st{};
    if (sys::fstatat(-100 /*AT_FDCWD*/, "/", &st, 0) == 0) {
      g.root_dev = st.st_dev;
      g.root_ino = st.st_ino;
      char b[48];
      sys::Out(b, sizeof b).u(g.root_dev).c(':').u(g.root_ino);  // (Out keeps it terminated)
      setenv("AMBER_ROOT", b, 1);
    }
  }
  {
    char st[4096];
    g.seccomp0 = seccomp_filters(st, sizeof st);  // inherited: the restart's too
  }
  // A Landlock domain the program we replaced (or its ancestor since the launch) took: it stays in
  // force across the exec, and the checkpoint refuses it by name (agent/writer.cc).
  if (const char* l = getenv("AMBER_LANDLOCKED")) g.landlocked = l[0] == '1';
  seccomp::init();  // (the program we replaced had its own: those are not inherited)
  g.app_pid = g.pid;
  g.app_ppid = (int)sys::getppid();
  // Our place in the tree: the launcher or our parent's agent exported its vpid. An exec keeps
  // the process (same pid): then AMBER_VPID is our own and we keep it.
  bool exec_pids = false;
  {
    const char* v = getenv("AMBER_VPID");
    const char* vp = getenv("AMBER_VPID_PID");
    int32_t inherited = v ? (int32_t)atoi(v) : 0;
    if (vp && atoi(vp) == g.pid) {
      g.vpid = inherited;
      const char* pv = getenv("AMBER_PARENT_VPID");
      g.parent_vpid = pv ? (int32_t)atoi(pv) : 0;
      // Pid virtualization state of the program we replaced (exec.cc puts it there): after a
      // restart our kernel pid is not the pid the application knows, nor is our parent's.
      exec_pids = true;
      if (const char* s = getenv("AMBER_APP_PID")) if (atoi(s) > 0) g.app_pid = atoi(s);
      if (const char* s = getenv("AMBER_APP_PPID")) if (atoi(s) > 0) g.app_ppid = atoi(s);
      if (const char* s = getenv("AMBER_RESTART_PPID")) if (atoi(s) > 0) g.restart_ppid = atoi(s);
    } else {
      g.parent_vpid = inherited;
    }
  }
  // Set by the posix_spawn wrapper that started us (exec.cc spawn_retrying); not the program's.
  bool spawn_try = getenv("AMBER_SPAWN_TRY") != nullptr && !exec_pids;
  unsetenv("AMBER_SPAWN_TRY");
  g.coord_fd = -1;
  g.tid_off = probe_tid_offset();
  rlim::init();
  g_handoff.magic = AMBER_HANDOFF_MAGIC3;
  stdio_init();
  void* sc = mmap(nullptr, kScratch, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (sc == MAP_FAILED) { say("cannot reserve scratch memory; not checkpointing"); return; }
  g.scratch = static_cast<char*>(sc);
  g.scratch_len = kScratch;

  struct sigaction sa = {};
  sa.sa_sigaction = suspend_handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);  // parked threads must not run application handlers
  if (real_sigaction(g.sig, &sa, nullptr) != 0) { say("cannot install the suspend handler"); return; }
  {
    // An exec wrapper of the program we replaced blocked it across the exec (exec.cc ExecGuard),
    // with SIGSETXID, which nothing sent meanwhile (a thread blocking both is never nudged).
    uint64_t ours = park_block_mask();
    sys::rt_sigprocmask(1 /*SIG_UNBLOCK*/, &ours, nullptr);
  }

  if (const char* cf = getenv("AMBER_COORD_FD")) {
    // The program that exec'd us ran as another user than the coordinator (exec.cc ExecConn): its
    // connection, since we could not make our own.
    int fd = atoi(cf);
    sys::kstat st{};
    if (fd >= 3 && sys::fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK) g_child_conn1 = fd + 1;
    unsetenv("AMBER_COORD_FD");
  }
  bool ok = connect_and_hello(false);
  if (!ok && g_connect_err == -EPROTO) ok = connect_and_hello(false);  // a passed connection that died (a restart in between): our own
  if (!ok) {
    say("cannot reach the coordinator at ", g.coord_path, "; running without checkpointing");
    return;
  }
  // A program posix_spawn started whose kernel pid another process of the computation has as its
  // app pid (hello brought the map): the spawning parent reaps it and spawns again (exec.cc).
  if (spawn_try && pid_collides(g.pid)) sys::exit_group(kForkCollisionExit);
  // A new process started after a restart: its parent's kernel pid is not the one the
  // application knows (hello brought the map).
  if (!exec_pids) g.app_ppid = pid::to_app(g.app_ppid);
  g.active = true;
  export_identity();
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  atexit([] { plugins_event(AMBER_EV_EXIT, nullptr); });
  if (!start_ckpt_thread()) join_done();
  setxid_follow_install();
  join_wait();
}

}  // namespace

// A connection for a child on its way (asked for by coord_conn_for_child: arrived with its line,
// handed to the waiting thread, or held for the fork or exec): the agent's, never the program's.
bool conn_in_flight(int fd) {
  uint32_t w = __atomic_load_n(&g_conn_word, __ATOMIC_ACQUIRE);
  return fd >= 0 && (fd == g_child_conn1 - 1 || fd == exec_conn_fd() || fd == g_passed1 - 1 || (w != 0 && w != ~0u && fd == (int)w - 1));
}

// Updates NAME in the environment without setenv(3): application threads run, and setenv may
// reallocate `environ` under a concurrent getenv. The entry is overwritten in place when the new
// value fits in the old one's bytes (the usual case: a coordinator in a similar directory);
// otherwise it is left alone, and a program exec'd later reports that it cannot reach the old one.
void patch_env(const char* name, const char* value) {
  size_t nl = sys::slen(name), vl = sys::slen(value);
  for (char** e = environ; e && *e; e++) {
    if (memcmp(*e, name, nl) || (*e)[nl] != '=') continue;
    char* old = *e + nl + 1;
    if (vl > sys::slen(old)) return;
    memcpy(old, value, vl + 1);
    return;
  }
}

bool coord_send(const char* s, size_t n) {
  // Block the suspend signal while holding the lock: a thread parked with it held would
  // deadlock the checkpoint thread's own sends.
  uint64_t block = park_block_mask(), old = 0;
  sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &block, &old);
  while (__atomic_exchange_n(&g.send_lock, 1u, __ATOMIC_ACQUIRE)) sys::sc0(24 /*sched_yield*/);
  bool ok = g.coord_fd >= 0 && sys::write_all(g.coord_fd, s, n) == 0;
  __atomic_store_n(&g.send_lock, 0u, __ATOMIC_RELEASE);
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &old, nullptr);
  return ok;
}

bool coord_read_line(char* out, size_t cap) {
  if (!read_line()) return false;
  size_t n = sys::slen(g_line);
  if (n >= cap) n = cap - 1;
  memcpy(out, g_line, n);
  out[n] = 0;
  return true;
}

}  // namespace amber
