// Seccomp filters the program installs (agent only; no image record).
//
// The kernel does not let an unprivileged process read a filter back (PTRACE_SECCOMP_GET_FILTER
// needs CAP_SYS_ADMIN), so the agent keeps a copy of every filter the program installs through
// its wrappers (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) and seccomp(2) by syscall(), which
// is how libseccomp calls it) in memory of its own — saved with the process, inherited by fork.
// A restored thread installs its chain again itself, as the last thing before the program's code
// runs (its no_new_privs is back by then): earlier, the filter would judge the restorer's and the
// agent's own calls. Filters inherited from whoever launched the computation are not ours
// (g.seccomp0): the restart runs under its own launcher's.
//
// Filters form a tree: a thread inherits its creator's chain, a new filter stacks on the
// installing thread's. A thread's chain is told by its depth — Seccomp_filters in its
// /proc/thread-self/status — which is unique while filters are installed one after another (a
// program's usual way, SECCOMP_FILTER_FLAG_TSYNC included); otherwise by the thread that installed
// it. A thread whose chain cannot be told, a filter with a user-notification listener (its
// descriptor's supervisor cannot be rebuilt) and more filters than we keep are refused at
// checkpoint by name. An exec hands the chain to the new program's agent in a memfd
// (AMBER_SECCOMP_FD): filters survive exec in the kernel too.
#include <errno.h>
#include <stdlib.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "proc/seccomp.h"
#include "sys/sys.h"

namespace amber {
namespace seccomp {
namespace {
constexpr unsigned kSetModeStrict = 0, kSetModeFilter = 1;
constexpr unsigned long kTsync = 1, kLog = 2, kSpecAllow = 4, kNewListener = 8;
constexpr int kMax = 256;          // filters kept per process tree branch
constexpr uint32_t kMagic = 0x73656363;  // "secc": the exec hand-over's header

struct Insn { uint16_t code; uint8_t jt, jf; uint32_t k; };  // struct sock_filter
struct Prog { uint16_t len; Insn* filter; };                   // struct sock_fprog
struct Node {
  int32_t parent;   // node number (index + 1) of the filter below this one; 0 none; -1 unknown
  uint32_t depth;   // filters of the program's in the chain, this one included
  int32_t tid;      // the thread that installed it
  uint32_t flags;   // seccomp(2) flags it was installed with
  uint32_t len;     // instructions
  uint32_t mapped;  // bytes of this node's mapping
  Insn insns[1];
};

Node* g_nodes[kMax];
uint32_t g_n;            // nodes taken (an index is taken before the node is filled)
bool g_overflow;
bool g_unknown_exec;     // the program we replaced had filters it could not hand over
struct Taken { uint32_t gen; int32_t tid; int32_t node; };
Taken g_taken[AMBER_MAX_THREADS];  // thread_take's findings, for check()
int32_t g_ckpt_node;               // the checkpoint thread's chain (a TSYNC filter reaches it)

// Filters stacked on the calling thread, inherited ones included; 0 when the kernel says nothing.
uint32_t own_count() {
  char buf[4096];
  return seccomp_filters(buf, sizeof buf, "/proc/thread-self/status");
}

// The chain of depth k the thread tid runs under: node number, 0 none, -1 cannot be told.
int32_t resolve(uint32_t k, int32_t tid) {
  if (k == 0) return 0;
  int32_t only = -1, mine = -1;
  uint32_t matches = 0, n = __atomic_load_n(&g_n, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < n && i < (uint32_t)kMax; i++) {
    const Node* nd = __atomic_load_n(&g_nodes[i], __ATOMIC_ACQUIRE);
    if (!nd || nd->depth != k) continue;
    matches++;
    only = (int32_t)i + 1;
    if (nd->tid == tid) mine = (int32_t)i + 1;
  }
  if (matches == 1) return only;
  return mine;
}

uint32_t program_depth() {
  uint32_t k = own_count();
  return k > g.seccomp0 ? k - g.seccomp0 : 0;
}

// A node for prog (readable: the kernel just took it). Not in a signal handler: mmap is fine.
void record(int32_t parent, uint32_t depth, int32_t tid, uint32_t flags, const Insn* insns, uint32_t len) {
  uint32_t i = __atomic_fetch_add(&g_n, 1u, __ATOMIC_ACQ_REL);
  if (i >= (uint32_t)kMax) { g_overflow = true; return; }
  size_t bytes = (offsetof(Node, insns) + (size_t)len * sizeof(Insn) + 4095) & ~(size_t)4095;
  long m = sys::mmap(nullptr, bytes, 3 /*PROT_READ|PROT_WRITE*/, 0x22 /*MAP_PRIVATE|MAP_ANONYMOUS*/, -1, 0);
  if (m < 0 && m > -4096) { g_overflow = true; return; }
  Node* nd = reinterpret_cast<Node*>(m);
  nd->parent = parent;
  nd->depth = depth;
  nd->tid = tid;
  nd->flags = flags;
  nd->len = len;
  nd->mapped = (uint32_t)bytes;
  __builtin_memcpy(nd->insns, insns, (size_t)len * sizeof(Insn));
  __atomic_store_n(&g_nodes[i], nd, __ATOMIC_RELEASE);
}

// Installs chain `node` (root first) on the calling thread.
void install(int32_t node) {
  int32_t path[kMax];
  int d = 0;
  for (int32_t i = node; i > 0 && d < kMax; i = g_nodes[i - 1] ? g_nodes[i - 1]->parent : 0) path[d++] = i;
  for (int j = d - 1; j >= 0; j--) {
    Node* nd = g_nodes[path[j] - 1];
    if (!nd) continue;
    Prog p{(uint16_t)nd->len, nd->insns};
    long r = sys::sc3(sys::NR_seccomp, kSetModeFilter, (long)(nd->flags & (kLog | kSpecAllow)), (long)&p);
    if (r < 0) {
      char msg[200];
      sys::Out(msg, sizeof msg).s("amber: warning: thread ").i(sys::gettid())
          .s(": a seccomp filter of the program's could not be installed again (errno ").i(-r).s(")\n");
      sys::write_all(2, msg, sys::slen(msg));
    }
  }
}
}  // namespace

void init() {
  const char* s = getenv("AMBER_SECCOMP_FD");
  if (!s || !*s) return;
  const char* q = s;
  int fd = (int)sys::parse_u(&q, 10);
  if (*q || fd < 3) return;
  uint32_t hdr[2];
  if (sys::pread_all(fd, hdr, sizeof hdr, 0) != 0 || hdr[0] != kMagic) { sys::close(fd); return; }
  if (hdr[1] == ~0u) { g_unknown_exec = true; sys::close(fd); return; }
  uint64_t off = sizeof hdr;
  int32_t parent = 0, tid = (int32_t)sys::gettid();
  uint32_t taken = 0;
  for (uint32_t i = 0; i < hdr[1]; i++) {
    uint32_t fl[2];
    if (sys::pread_all(fd, fl, sizeof fl, off) != 0 || fl[1] == 0 || fl[1] > 4096) break;
    off += sizeof fl;
    Insn buf[4096];
    if (sys::pread_all(fd, buf, fl[1] * sizeof(Insn), off) != 0) break;
    off += fl[1] * sizeof(Insn);
    record(parent, i + 1, tid, fl[0], buf, fl[1]);
    parent = (int32_t)__atomic_load_n(&g_n, __ATOMIC_ACQUIRE);
    taken++;
  }
  sys::close(fd);
  if (taken != hdr[1]) g_unknown_exec = true;
  // These were counted as inherited from the launcher: they are the program's.
  g.seccomp0 = g.seccomp0 > taken ? g.seccomp0 - taken : 0;
}

long set_mode(unsigned op, unsigned flags, void* args) {
  if (op != kSetModeFilter || !g.active)
    return sys::sc3(sys::NR_seccomp, op, flags, (long)args);
  // Our signal is held off from the kernel's install to our record: a checkpoint in between would
  // find a filter we do not know.
  uint64_t ours = park_block_mask(), old = 0;
  sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &ours, &old);
  int32_t tid = (int32_t)sys::gettid();
  uint32_t k0 = program_depth();
  int32_t parent = g_n ? resolve(k0, tid) : 0;
  if (k0 > 0 && parent == 0) parent = -1;  // filters we never saw (before the agent: seccomp0 covers those)
  long r = sys::sc3(sys::NR_seccomp, op, flags, (long)args);
  if (r >= 0) {
    const Prog* p = static_cast<const Prog*>(args);
    record(parent, k0 + 1, tid, flags, p->filter, p->len);
  }
  if (!(old & ours)) sys::rt_sigprocmask(1 /*SIG_UNBLOCK*/, &ours, nullptr);
  (void)kSetModeStrict;
  (void)kTsync;
  return r;
}

int32_t thread_take(int32_t tid) {
  if (!__atomic_load_n(&g_n, __ATOMIC_ACQUIRE)) return 0;
  int32_t node = resolve(program_depth(), tid);
  for (uint32_t i = 0; i < AMBER_MAX_THREADS; i++) {
    if (g_taken[i].gen == g.generation && g_taken[i].tid != tid) continue;
    uint32_t seen = g_taken[i].gen;
    if (__atomic_compare_exchange_n(&g_taken[i].gen, &seen, g.generation, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      g_taken[i].tid = tid;
      g_taken[i].node = node;
      break;
    }
  }
  return node;
}

void thread_restored(int32_t node) {
  if (node > 0) install(node);
}

long check(Capture& c) {
  g_ckpt_node = 0;
  char msg[240];
  if (g_unknown_exec)
    return c.fail(-EINVAL, "the program installed seccomp filters before an exec that amber could not carry over");
  if (!__atomic_load_n(&g_n, __ATOMIC_ACQUIRE)) {
    // None recorded: anything over the launcher's came by a way no wrapper of ours sees.
    if (program_depth() > 0)
      return c.fail(-EINVAL, "the program installed a seccomp filter by a way amber does not see (a raw system call); it cannot be installed again at restart");
    return 0;
  }
  if (g_overflow) {
    sys::Out(msg, sizeof msg).s("the program installed more than ").i(kMax).s(" seccomp filters; amber keeps ").i(kMax);
    return c.fail(-E2BIG, msg);
  }
  auto chain_ok = [&](int32_t node, int32_t tid) -> bool {
    if (node < 0) {
      sys::Out(msg, sizeof msg).s("thread ").i(tid).s(" runs under seccomp filters amber cannot tell apart (installed by several threads, or by a raw system call)");
      c.fail(-EINVAL, msg);
      return false;
    }
    for (int32_t i = node; i > 0;) {
      const Node* nd = g_nodes[i - 1];
      if (!nd || nd->parent < 0) {
        sys::Out(msg, sizeof msg).s("thread ").i(tid).s(" runs under a seccomp filter stacked on one amber never saw");
        c.fail(-EINVAL, msg);
        return false;
      }
      if (nd->flags & kNewListener) {
        c.fail(-EINVAL, "a seccomp filter with a user-notification listener (SECCOMP_FILTER_FLAG_NEW_LISTENER): its supervisor's descriptor cannot be rebuilt");
        return false;
      }
      i = nd->parent;
    }
    return true;
  };
  for (uint32_t i = 0; i < AMBER_MAX_THREADS; i++)
    if (g_taken[i].gen == g.generation && g_taken[i].tid && !chain_ok(g_taken[i].node, g_taken[i].tid)) return c.failed;
  g_ckpt_node = resolve(program_depth(), (int32_t)sys::gettid());
  if (!chain_ok(g_ckpt_node, (int32_t)sys::gettid())) return c.failed;
  return 0;
}

void ckpt_restored() {
  if (g_ckpt_node > 0) install(g_ckpt_node);
}

int exec_fd() {
  if (!__atomic_load_n(&g_n, __ATOMIC_ACQUIRE) && !g_unknown_exec) return -1;
  uint32_t k = program_depth();
  if (k == 0) return -1;
  int32_t node = g_unknown_exec ? -1 : resolve(k, (int32_t)sys::gettid());
  long fd = sys::sc2(sys::NR_memfd_create, (long)"amber-seccomp", 0);
  if (fd < 0) return -1;
  int32_t path[kMax];
  int d = 0;
  for (int32_t i = node; i > 0 && d < kMax; i = g_nodes[i - 1] ? g_nodes[i - 1]->parent : -1) path[d++] = i;
  bool known = node > 0;
  for (int j = 0; j < d && known; j++) known = g_nodes[path[j] - 1] && g_nodes[path[j] - 1]->parent >= 0;
  uint32_t hdr[2] = {kMagic, known ? (uint32_t)d : ~0u};
  bool ok = sys::write_all((int)fd, hdr, sizeof hdr) == 0;
  for (int j = d - 1; j >= 0 && ok && known; j--) {
    const Node* nd = g_nodes[path[j] - 1];
    uint32_t fl[2] = {nd->flags, nd->len};
    ok = sys::write_all((int)fd, fl, sizeof fl) == 0 && sys::write_all((int)fd, nd->insns, nd->len * sizeof(Insn)) == 0;
  }
  long hi = ok ? sys::fcntl((int)fd, 0 /*F_DUPFD: inherited by the new program*/, 901) : -1;
  sys::close((int)fd);
  return hi >= 0 ? (int)hi : -1;
}
}  // namespace seccomp
}  // namespace amber
