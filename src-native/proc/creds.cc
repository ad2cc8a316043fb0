// A process's credentials: user and group ids (real, effective, saved, filesystem), supplementary
// groups, capabilities (effective, permitted, inheritable, bounding, ambient), securebits, and its
// dumpable flag (issue 10: a program that setuid()s after launch, as daemons drop root).
//
// Capture (agent). A process that changed its credentials is not dumpable (the kernel clears the
// flag on any change of euid/egid/fsuid/fsgid or of permitted capabilities): its /proc/self files
// then belong to root, and what the agent reads there with mode 0400/0500 (pagemap, environ, auxv,
// fd/, fdinfo/, task/*/syscall ...) is refused to it. So the agent makes the process dumpable for
// as long as it works on it — from the `suspend` until the program runs again, live or after a
// restart — and puts the program's value back before any thread of the program runs
// (dumpable_raise / dumpable_restore). Who can read the process's memory in that window: a
// dumpable process is ptrace-able (PTRACE_MODE_ATTACH) and its /proc/PID/mem readable by a
// process whose real, effective and saved uids all equal this process's (and gids likewise), or by
// one with CAP_SYS_PTRACE — i.e. the user the program switched to, and root; no third user. The
// program's threads are parked meanwhile.
//
// Credentials are per thread in Linux; glibc's setuid & co. change every thread of the process
// (the agent's checkpoint thread included), a raw system call only its caller. The image keeps one
// set per process (the checkpoint thread's), and a process whose threads differ is refused at
// checkpoint, naming the thread, never restored with some thread's ids silently changed.
//
// Rebuild (restorer). Stage 1 decides: a restart whose own credentials are the process's (or, in a
// user namespace, map to them: `unshare -r`) changes nothing but what differs in capabilities; a
// restart by root (CAP_SETUID and CAP_SETGID) switches to the saved ids; an unprivileged restart of
// a process that ran with other ids is refused by name (it cannot become another user). Stage 3
// switches after everything that needs the restart's privileges (files opened, limits raised,
// memory mapped) and before the threads are made (a clone takes its creator's credentials), and
// makes the process dumpable again for the agent, which sets the program's flag at resume.
#include "image/format.h"

namespace {
// prctl and securebits (include/uapi/linux/prctl.h, securebits.h)
constexpr long PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4, PR_CAPBSET_READ = 23, PR_CAPBSET_DROP = 24,
               PR_GET_SECUREBITS = 27, PR_SET_SECUREBITS = 28, PR_CAP_AMBIENT = 47;
constexpr long AMBIENT_IS_SET = 1, AMBIENT_RAISE = 2, AMBIENT_CLEAR_ALL = 4;
constexpr uint32_t SECBIT_NO_SETUID_FIXUP = 1u << 2;
constexpr long NR_getgroups = 115, NR_setgroups = 116, NR_setresuid = 117, NR_getresuid = 118,
               NR_setresgid = 119, NR_getresgid = 120, NR_setfsuid = 122, NR_setfsgid = 123,
               NR_capget = 125, NR_capset = 126;
constexpr uint32_t kCapVersion3 = 0x20080522;
constexpr int CAP_SETGID = 6, CAP_SETUID = 7, CAP_SETPCAP = 8;
}  // namespace

#if defined(AMBER_AGENT) || defined(AMBER_RESTORER)
#include "sys/sys.h"

namespace {
// The calling thread's credentials (everything but the groups and the dumpable flag).
struct Cur {
  amber_creds c;
  bool ok;
};

Cur current() {
  Cur r{};
  amber_creds& c = r.c;
  long e = sys::sc3(NR_getresuid, (long)&c.uid[0], (long)&c.uid[1], (long)&c.uid[2]);
  e |= sys::sc3(NR_getresgid, (long)&c.gid[0], (long)&c.gid[1], (long)&c.gid[2]);
  // setfs[ug]id(-1) changes nothing and returns the current value.
  c.uid[3] = (uint32_t)sys::sc1(NR_setfsuid, -1);
  c.gid[3] = (uint32_t)sys::sc1(NR_setfsgid, -1);
  struct { uint32_t version; int32_t pid; } h = {kCapVersion3, 0};
  struct { uint32_t eff, perm, inh; } d[2] = {};
  e |= sys::sc2(NR_capget, (long)&h, (long)d);
  c.cap_effective = d[0].eff | (uint64_t)d[1].eff << 32;
  c.cap_permitted = d[0].perm | (uint64_t)d[1].perm << 32;
  c.cap_inheritable = d[0].inh | (uint64_t)d[1].inh << 32;
  for (int k = 0; k < 64; k++) {
    long b = sys::prctl(PR_CAPBSET_READ, k, 0, 0, 0);
    if (b < 0) break;  // past the kernel's last capability
    if (b) c.cap_bounding |= 1ull << k;
    if (sys::prctl(PR_CAP_AMBIENT, AMBIENT_IS_SET, k, 0, 0) == 1) c.cap_ambient |= 1ull << k;
  }
  long sb = sys::prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  c.securebits = sb > 0 ? (uint32_t)sb : 0;
  c.dumpable = (int32_t)sys::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  r.ok = e >= 0;
  return r;
}
}  // namespace
#endif

#ifdef AMBER_AGENT
#include <errno.h>
#include <signal.h>

#include "agent/agent.h"
#include "agent/capture.h"

namespace amber {
namespace {
// The program's PR_GET_DUMPABLE while the agent holds the process dumpable; -1 when it does not.
// In the agent's memory, so saved with the image: a restarted process gets it back at resume.
int32_t g_dumpable = -1;

// The credential lines of a task's status, concatenated (what two threads must agree on).
size_t cred_lines(int32_t tid, char* out, size_t cap) {
  char path[64], st[4096];
  sys::Out(path, sizeof path).s("/proc/self/task/").i(tid).s("/status");
  size_t n = sys::read_file(path, st, sizeof st - 1);
  st[n] = 0;
  sys::Out o(out, cap);
  for (const char* p = st; *p;) {
    const char* e = p;
    while (*e && *e != '\n') e++;
    if (sys::sstarts(p, "Uid:") || sys::sstarts(p, "Gid:") || sys::sstarts(p, "Groups:") || sys::sstarts(p, "Cap"))
      o.sn(p, (size_t)(e - p)).c('\n');
    p = *e ? e + 1 : e;
  }
  return o.len;
}
}  // namespace

void dumpable_raise() {
  if (g_dumpable >= 0) return;
  long d = sys::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  g_dumpable = d < 0 ? 1 : (int32_t)d;
  if (g_dumpable != 1) sys::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

void dumpable_restarted() {
  // The restorer made the process dumpable after switching its ids; kept so until resume.
  if (g_dumpable >= 0) sys::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

void dumpable_restore() {
  if (g_dumpable < 0) return;
  // 2 (suid_dumpable = 2) cannot be set by prctl; 0 is its closest: still no dump the user can read.
  if (g_dumpable != 1) sys::prctl(PR_SET_DUMPABLE, g_dumpable == 2 ? 0 : g_dumpable, 0, 0, 0);
  g_dumpable = -1;
}

// ---- the checkpoint thread follows the program's setuid and friends ----
// glibc runs every set*id call in every thread of the process (SIGSETXID) and aborts the program
// when one thread's result differs from the caller's. Ours is one more thread: a program that
// keeps its capabilities across a uid change (PR_SET_KEEPCAPS or securebits, then setresuid, then
// capset to raise its effective set again — setpriv, daemons dropping root) raises them in its
// own thread only, so our thread's next setresgid failed with EPERM and glibc aborted the program
// (SIGABRT under amber, fine without it). Our SIGSETXID handler, wrapped around glibc's, first
// gives the checkpoint thread the securebits the program set (seen by the prctl wrapper) and the
// capabilities the program's thread has now (capget on the main thread: a program that changes
// capabilities per thread aborts without amber too), so the call goes the same way in both.
namespace {
constexpr long NR_capget = 125, NR_capset = 126, NR_rt_sigaction = 13;
struct KSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  uint64_t mask;
};
using InfoFn = void (*)(int, siginfo_t*, void*);
InfoFn g_glibc_setxid;
int64_t g_securebits = -1;  // the program's last PR_SET_SECUREBITS (-1: none)
int32_t g_keepcaps = -1;    // its PR_SET_KEEPCAPS since then (-1: none)

constexpr int kFollowMagic = 0x616d6272;  // "ambr": a follow request of ours, not glibc's
volatile uint32_t g_follow_ack;

void follow_program() {
  if (g_securebits >= 0) sys::prctl(28 /*PR_SET_SECUREBITS*/, g_securebits, 0, 0, 0);
  if (g_keepcaps >= 0) sys::prctl(8 /*PR_SET_KEEPCAPS*/, g_keepcaps, 0, 0, 0);
  // The bounding set (only ever dropped) and the ambient set, as the program's thread has them.
  char path[64], st[4096];
  sys::Out(path, sizeof path).s("/proc/self/task/").i(g.pid).s("/status");
  size_t n = sys::read_file(path, st, sizeof st - 1);
  st[n] = 0;
  uint64_t bnd = 0, amb = 0, my_bnd = 0;
  bool have_bnd = sys::status_value(st, "CapBnd:", 16, &bnd), have_amb = sys::status_value(st, "CapAmb:", 16, &amb);
  if (have_bnd) {
    n = sys::read_file("/proc/thread-self/status", st, sizeof st - 1);
    st[n] = 0;
    if (sys::status_value(st, "CapBnd:", 16, &my_bnd))
      for (int cap = 0; cap < 64; cap++)
        if ((my_bnd >> cap & 1) && !(bnd >> cap & 1)) sys::prctl(24 /*PR_CAPBSET_DROP*/, cap, 0, 0, 0);
  }
  struct { uint32_t version; int32_t pid; } hdr{0x20080522 /*_LINUX_CAPABILITY_VERSION_3*/, g.pid};
  struct { uint32_t eff, perm, inh; } data[2] = {};
  if (sys::sc2(NR_capget, (long)&hdr, (long)data) == 0) {
    hdr.pid = 0;
    sys::sc2(NR_capset, (long)&hdr, (long)data);
  }
  if (have_amb) {
    sys::prctl(47 /*PR_CAP_AMBIENT*/, 4 /*PR_CAP_AMBIENT_CLEAR_ALL*/, 0, 0, 0);
    for (int cap = 0; cap < 64; cap++)
      if (amb >> cap & 1) sys::prctl(47, 2 /*PR_CAP_AMBIENT_RAISE*/, cap, 0, 0);
  }
}

void setxid_handler(int sig, siginfo_t* si, void* uc) {
  if ((int32_t)sys::gettid() == g.ckpt_tid) {
    follow_program();
    if (si && si->si_code == SI_QUEUE && si->si_value.sival_int == kFollowMagic) {
      __atomic_store_n(&g_follow_ack, 1u, __ATOMIC_RELEASE);
      sys::futex_wake(&g_follow_ack, 1);
      return;  // ours (creds_follow): glibc has no command running
    }
  }
  if (InfoFn f = g_glibc_setxid) f(sig, si, uc);
}
}  // namespace

// The program changed its thread's capabilities (capset, the bounding or ambient set) without a
// set*id call: the checkpoint thread follows at once, by a SIGSETXID of our own marked as such
// (it is the one signal that thread takes besides glibc's SIGCANCEL). Waits until it has, 1 s at
// most. Not from the checkpoint thread itself, nor before it exists.
void creds_follow() {
  if (!g.active || !g_glibc_setxid || g.ckpt_tid <= 0 || (int32_t)sys::gettid() == g.ckpt_tid) return;
  __atomic_store_n(&g_follow_ack, 0u, __ATOMIC_RELEASE);
  siginfo_t si;
  __builtin_memset(&si, 0, sizeof si);
  si.si_signo = 33;
  si.si_code = SI_QUEUE;
  si.si_pid = (pid_t)sys::getpid();
  si.si_uid = (uid_t)sys::sc0(102 /*getuid*/);
  si.si_value.sival_int = kFollowMagic;
  if (sys::sc4(297 /*rt_tgsigqueueinfo*/, g.pid, g.ckpt_tid, 33, (long)&si) < 0) return;
  for (int i = 0; i < 100 && !__atomic_load_n(&g_follow_ack, __ATOMIC_ACQUIRE); i++) {
    sys::ktimespec ts{0, 10000000};
    sys::futex_wait(&g_follow_ack, 0, &ts);
  }
}

void setxid_follow_install() {
  // glibc installs its handler with the first pthread_create (our checkpoint thread's).
  KSigaction old{};
  if (sys::sc4(NR_rt_sigaction, 33, 0, (long)&old, 8) != 0) return;
  if (reinterpret_cast<uintptr_t>(old.handler) <= 1 || old.handler == reinterpret_cast<void*>(&setxid_handler)) return;
  g_glibc_setxid = reinterpret_cast<InfoFn>(old.handler);
  KSigaction mine = old;
  mine.handler = reinterpret_cast<void*>(&setxid_handler);
  sys::sc4(NR_rt_sigaction, 33, (long)&mine, 0, 8);
}

void creds_note_prctl(int option, unsigned long arg) {
  if (option == 28 /*PR_SET_SECUREBITS*/) {
    g_securebits = (int64_t)arg;
    g_keepcaps = -1;
  } else if (option == 8 /*PR_SET_KEEPCAPS*/) {
    g_keepcaps = arg ? 1 : 0;
  }
}

long creds_capture(Capture& c) {
  c.ext->creds = amber_str{0, 0};
  Cur cur = current();
  if (!cur.ok) return c.fail(-EPERM, "cannot read the process's credentials");
  cur.c.dumpable = g_dumpable >= 0 ? g_dumpable : cur.c.dumpable;
  // Securebits are per thread and nothing in /proc shows them: the checkpoint thread (reading its
  // own here) has the program's only if a set*id call made it follow (follow_program). The last
  // PR_SET_SECUREBITS the program made is the program's.
  if (g_securebits >= 0) cur.c.securebits = (uint32_t)g_securebits;
  // Every thread of the program has the checkpoint thread's credentials (see the top).
  {
    char* mine = c.tmp;
    char* other = c.tmp + 4096;
    size_t n = cred_lines(g.ckpt_tid, mine, 4096);
    for (uint32_t i = 0; i < g.nslots; i++) {
      if (g_slots[i].tid == g.ckpt_tid) continue;
      size_t m = cred_lines(g_slots[i].tid, other, 4096);
      if (m && n && (m != n || __builtin_memcmp(mine, other, n) != 0)) {
        char why[200];
        sys::Out(why, sizeof why).s("thread ").i(g_slots[i].tid)
            .s(" has other credentials than the rest of the process (a uid/gid/capability change by a raw system call in one thread)");
        return c.fail(-EPERM, why, ": amber restores one set of credentials per process");
      }
    }
  }
  long ng = sys::sc2(NR_getgroups, 0, 0);
  if (ng < 0 || (uint64_t)ng > AMBER_MAX_GROUPS) return c.fail(ng < 0 ? ng : -E2BIG, "cannot read the process's supplementary groups");
  uint32_t* groups = static_cast<uint32_t*>(c.a.take((size_t)(ng ? ng : 1) * 4));
  if (!groups) return c.fail(-ENOMEM, "scratch exhausted");
  if (ng) ng = sys::sc2(NR_getgroups, ng, (long)groups);
  if (ng < 0) return c.fail(ng, "cannot read the process's supplementary groups");
  cur.c.ngroups = (uint32_t)ng;
  uint32_t at = c.str.append(&cur.c, sizeof cur.c);
  c.str.append(groups, (size_t)ng * 4);
  if (c.str.full) return c.fail(-E2BIG, "the image's string space is full (credentials)");
  c.ext->creds = amber_str{at, (uint32_t)(sizeof cur.c + (size_t)ng * 4)};
  return 0;
}
}  // namespace amber
#endif  // AMBER_AGENT

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
// What the restart does with the saved credentials.
struct Plan {
  amber_creds want;        // the ids to set, in this namespace
  const char* groups;      // the saved groups (uint32_t[want.ngroups], unaligned), translated on use
  bool map_gids;           // translate groups through gid_map
  bool ids;                // switch ids (and groups)
  bool caps;               // set capabilities, securebits, bounding and ambient sets
  Cur cur;
};

// One line of /proc/self/[ug]id_map: inside, outside, count.
struct MapLine { uint64_t in, out, n; };

// Our user namespace's map; returns the line count, 0 for the initial namespace (identity).
uint32_t read_map(const char* path, MapLine* m, uint32_t cap) {
  char buf[2048];
  size_t n = sys::read_file(path, buf, sizeof buf - 1);
  buf[n] = 0;
  uint32_t k = 0;
  const char* p = buf;
  while (*p && k < cap) {
    while (*p == ' ' || *p == '\n') p++;
    if (!*p) break;
    MapLine l;
    l.in = sys::parse_u(&p, 10);
    while (*p == ' ') p++;
    l.out = sys::parse_u(&p, 10);
    while (*p == ' ') p++;
    l.n = sys::parse_u(&p, 10);
    while (*p && *p != '\n') p++;
    m[k++] = l;
  }
  if (k == 1 && m[0].in == 0 && m[0].out == 0 && m[0].n == 4294967295ull) return 0;
  return k;
}

// An id of the parent namespace (an image written outside ours) as this namespace knows it; -1
// when it has none here.
int64_t from_outside(uint32_t id, const MapLine* m, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (id >= m[i].out && id - m[i].out < m[i].n) return (int64_t)(m[i].in + (id - m[i].out));
  return -1;
}

bool has_cap(uint64_t set, int cap) { return (set >> cap) & 1; }

// Room for n group ids, a mapping of its own (released with drop_groups): up to 256 KiB, too
// much for our stack.
uint32_t* map_groups(uint64_t n) {
  uint64_t len = ((n ? n : 1) * 4 + kPage - 1) & ~(kPage - 1);
  long m = sys::mmap(nullptr, len, sys::PROT_R_ | sys::PROT_W_, sys::MAP_PRIVATE_ | sys::MAP_ANON_, -1, 0);
  if (m < 0) die(EXIT_SYSTEM, "out of memory", nullptr, m);
  return reinterpret_cast<uint32_t*>(m);
}
void drop_groups(uint32_t* g, uint64_t n) { sys::munmap(g, ((n ? n : 1) * 4 + kPage - 1) & ~(kPage - 1)); }

bool same_groups(const char* saved, uint32_t ns, const uint32_t* cur, uint32_t nc, const MapLine* gm, uint32_t ngm) {
  if (ns != nc) return false;
  for (uint32_t i = 0; i < ns; i++) {
    uint32_t g;
    memcpy(&g, saved + 4ull * i, 4);
    int64_t t = ngm ? from_outside(g, gm, ngm) : g;
    bool found = false;
    for (uint32_t j = 0; j < nc && !found; j++) found = cur[j] == g || (t >= 0 && cur[j] == (uint32_t)t);
    if (!found) return false;
  }
  return true;
}

bool same_ids(const amber_creds& a, const amber_creds& b) {
  for (int k = 0; k < 4; k++)
    if (a.uid[k] != b.uid[k] || a.gid[k] != b.gid[k]) return false;
  return true;
}

bool same_caps(const amber_creds& a, const amber_creds& b) {
  return a.cap_effective == b.cap_effective && a.cap_permitted == b.cap_permitted &&
         a.cap_inheritable == b.cap_inheritable && a.cap_bounding == b.cap_bounding &&
         a.cap_ambient == b.cap_ambient && a.securebits == b.securebits;
}

// Decides (stage 1) and decides again (stage 3, from the blob: nothing of stage 1 survives there)
// what to do; dies naming what a restart cannot do.
bool plan(Plan& p) {
  const char* d;
  uint32_t len;
  if (!S.v.pext->creds.len || !amber_str_at(&S.v, S.v.pext->creds, &d, &len)) return false;
  memcpy(&p.want, d, sizeof p.want);
  p.groups = d + sizeof(amber_creds);
  p.cur = current();
  if (!p.cur.ok) die(EXIT_SYSTEM, "cannot read the restart's own credentials");
  const amber_creds& cur = p.cur.c;
  MapLine um[64], gm[64];
  uint32_t num = read_map("/proc/self/uid_map", um, 64), ngm = read_map("/proc/self/gid_map", gm, 64);
  long nmax = sys::sc2(NR_getgroups, 0, 0);
  if (nmax < 0) nmax = 0;
  uint32_t* cg = map_groups((uint64_t)nmax);
  long ncur = nmax > 0 ? sys::sc2(NR_getgroups, nmax, (long)cg) : 0;
  if (ncur < 0) die(EXIT_SYSTEM, "cannot read the restart's supplementary groups", nullptr, ncur);
  // The same identity as ours, literally or (a restart in a user namespace, `unshare -r`, of an
  // image written outside it) through our namespace's maps.
  bool literal = same_ids(p.want, cur);
  amber_creds mapped = p.want;
  bool all_mapped = num && ngm;
  for (int k = 0; k < 4 && all_mapped; k++) {
    int64_t u = from_outside(p.want.uid[k], um, num), g = from_outside(p.want.gid[k], gm, ngm);
    if (u < 0 || g < 0) all_mapped = false;
    else { mapped.uid[k] = (uint32_t)u; mapped.gid[k] = (uint32_t)g; }
  }
  bool through_map = !literal && all_mapped && same_ids(mapped, cur);
  bool groups_same = same_groups(p.groups, p.want.ngroups, cg, (uint32_t)ncur, gm, ngm);
  drop_groups(cg, (uint64_t)nmax);
  p.ids = !(literal || through_map) || !groups_same;
  // Inside a user namespace, for an image from outside it, the namespace's capabilities are the
  // restart's choice (unshare -r): left as they are. Everywhere else they are the process's.
  p.caps = !through_map && !same_caps(p.want, cur);
  bool setuid_ok = has_cap(cur.cap_effective, CAP_SETUID) && has_cap(cur.cap_effective, CAP_SETGID);
  char who[200];
  sys::Out(who, sizeof who).s("(uid ").u(p.want.uid[0]).c('/').u(p.want.uid[1]).c('/').u(p.want.uid[2]).c('/').u(p.want.uid[3])
      .s(", gid ").u(p.want.gid[0]).c('/').u(p.want.gid[1]).c('/').u(p.want.gid[2]).c('/').u(p.want.gid[3])
      .s(", ").u(p.want.ngroups).s(" supplementary groups; this restart runs as uid ").u(cur.uid[1]).s(")");
  if (p.ids && !setuid_ok)
    die(EXIT_HOST, "the process ran with other user or group ids than this restart, which cannot become another user: restart it as root", who);
  if (p.ids && num && !literal) {
    // Privileged in a user namespace: the ids as the namespace maps them, each of them mapped.
    if (!all_mapped) die(EXIT_HOST, "the process's user or group ids have no mapping in this user namespace", who);
    p.want = mapped;
    p.map_gids = true;
  }
  if (p.caps) {
    const amber_creds& w = p.want;
    bool setpcap = has_cap(cur.cap_effective, CAP_SETPCAP);
    // What the kernel lets this restart do: raise no capability it lacks (root may: a switch
    // starts from root's full set), drop bounding capabilities and change securebits only with
    // CAP_SETPCAP.
    if (!p.ids && ((w.cap_permitted & ~cur.cap_permitted) || (w.cap_inheritable & ~(cur.cap_inheritable | cur.cap_permitted))))
      die(EXIT_HOST, "the process had capabilities this restart does not have: restart it as root", who);
    if (w.cap_bounding & ~cur.cap_bounding)
      die(EXIT_HOST, "the process's capability bounding set has capabilities this restart's lacks", who);
    if (!setpcap && ((cur.cap_bounding & ~w.cap_bounding) || w.securebits != cur.securebits))
      die(EXIT_HOST, "the process's capability bounding set or securebits differ from this restart's, which lacks CAP_SETPCAP to set them", who);
  }
  return true;
}

[[noreturn]] void fail_step(const char* what, long e) {
  die(EXIT_SYSTEM, "cannot restore the process's credentials:", what, e);
}

void capset(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct { uint32_t version; int32_t pid; } h = {kCapVersion3, 0};
  struct { uint32_t eff, perm, inh; } d[2] = {{(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
                                               {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)}};
  long e = sys::sc2(NR_capset, (long)&h, (long)d);
  if (e < 0) fail_step("capset", e);
}
}  // namespace

// Stage 1, per image. bound: --creds, the credentials the kernel showed for a process of another
// user than the checkpoint's root, whose image file the coordinator made (its bytes are that
// user's): the image's record must say exactly that, or a root restart would give the image's
// writer whatever ids it wrote.
void creds_check(const char* bound) {
  if (bound) {
    const char* d = nullptr;
    uint32_t len = 0;
    amber_creds c{};
    bool ok = S.v.pext->creds.len && amber_str_at(&S.v, S.v.pext->creds, &d, &len);
    if (ok) memcpy(&c, d, sizeof c);
    uint64_t want[13];
    const char* q = bound;
    for (int k = 0; k < 13 && ok; k++) {
      want[k] = sys::parse_u(&q, 10);
      ok = k == 12 ? (*q == ',' || !*q) : *q == ',';
      if (*q == ',') q++;
    }
    for (int k = 0; k < 4 && ok; k++) ok = c.uid[k] == want[k] && c.gid[k] == want[4 + k];
    ok = ok && c.cap_effective == want[8] && c.cap_permitted == want[9] && c.cap_inheritable == want[10] &&
         c.cap_bounding == want[11] && c.cap_ambient == want[12];
    // the groups: the same set
    uint32_t n = 0;
    for (const char* r = q; ok && *r;) {
      uint64_t g = sys::parse_u(&r, 10);
      if (*r == ',') r++;
      bool found = false;
      for (uint32_t i = 0; i < c.ngroups && !found; i++) {
        uint32_t x;
        memcpy(&x, d + sizeof c + 4ull * i, 4);
        found = x == g;
      }
      ok = found;
      n++;
    }
    if (!ok || n != c.ngroups)
      die(EXIT_IMAGE, "the process's credentials in the image are not the ones the kernel showed at checkpoint (the manifest's): refusing it");
  }
  Plan p{};
  plan(p);
}

// Stage 3, before the threads are made.
void creds_restore() {
  Plan p{};
  if (!plan(p) || (!p.ids && !p.caps)) return;
  const amber_creds& w = p.want;
  const amber_creds& cur = p.cur.c;
  long e;
  if (p.ids && S.coord[0] && !sys::sstarts(S.coord, "tcp:")) {
    // The agent's connection to the coordinator, made now: as another user it may not connect to
    // the socket of the restart's user (mode 0600), nor be accepted by it (SO_PEERCRED). The
    // kernel vouches for this one as the restart's. A failure leaves the agent to try (and say).
    long fd = sys::socket(1 /*AF_UNIX*/, 1 /*SOCK_STREAM*/ | sys::O_CLOEXEC_, 0);
    struct { uint16_t family; char path[108]; } sa = {1, {}};
    size_t n = sys::slen(S.coord);
    if (fd >= 0 && n < sizeof sa.path) {
      memcpy(sa.path, S.coord, n);
      if (sys::connect((int)fd, &sa, (int)sizeof sa) >= 0) {
        fd = lift(fd);
        if (fd >= 0) S.coord_fd1 = (int)fd + 1;
      }
    }
    if (fd >= 0 && !S.coord_fd1) sys::close((int)fd);
  }
  // 1. The bounding set (CAP_SETPCAP, which the restart still has).
  for (int k = 0; k < 64; k++)
    if (has_cap(cur.cap_bounding, k) && !has_cap(w.cap_bounding, k) && (e = sys::prctl(PR_CAPBSET_DROP, k, 0, 0, 0)) < 0)
      fail_step("dropping a bounding capability", e);
  if (p.ids) {
    // 2. Groups and gids first (changing them needs CAP_SETGID, which the uid change may take).
    uint32_t* g = map_groups(w.ngroups);
    for (uint32_t i = 0; i < w.ngroups; i++) {
      memcpy(&g[i], p.groups + 4ull * i, 4);
      if (p.map_gids) {
        MapLine gm[64];
        uint32_t ngm = read_map("/proc/self/gid_map", gm, 64);
        int64_t t = from_outside(g[i], gm, ngm);
        if (t < 0) die(EXIT_HOST, "a supplementary group of the process has no mapping in this user namespace");
        g[i] = (uint32_t)t;
      }
    }
    if ((e = sys::sc2(NR_setgroups, w.ngroups, (long)g)) < 0) fail_step("setgroups", e);
    drop_groups(g, w.ngroups);
    if ((e = sys::sc3(NR_setresgid, w.gid[0], w.gid[1], w.gid[2])) < 0) fail_step("setresgid", e);
    sys::sc1(NR_setfsgid, w.gid[3]);
    // 3. The uids, with the kernel's capability fix-up off: the capabilities are set exactly below
    // (a process that kept root in its saved uid, or kept capabilities with PR_SET_KEEPCAPS).
    if ((e = sys::prctl(PR_SET_SECUREBITS, cur.securebits | SECBIT_NO_SETUID_FIXUP, 0, 0, 0)) < 0) fail_step("securebits", e);
    if ((e = sys::sc3(NR_setresuid, w.uid[0], w.uid[1], w.uid[2])) < 0) fail_step("setresuid", e);
    sys::sc1(NR_setfsuid, w.uid[3]);
    if ((uint32_t)sys::sc1(NR_setfsuid, -1) != w.uid[3] || (uint32_t)sys::sc1(NR_setfsgid, -1) != w.gid[3])
      fail_step("setfsuid/setfsgid", -1 /*EPERM*/);
  }
  // 4. Capabilities: the saved sets, plus CAP_SETPCAP until the securebits are set; the ambient set
  // (needs its capabilities permitted and inheritable); the securebits; then exactly the saved sets.
  uint64_t pc = 1ull << CAP_SETPCAP;
  bool keep_setpcap = has_cap(cur.cap_effective, CAP_SETPCAP) && w.securebits != (p.ids ? (cur.securebits | SECBIT_NO_SETUID_FIXUP) : cur.securebits);
  capset(w.cap_effective | (keep_setpcap ? pc : 0), w.cap_permitted | (keep_setpcap ? pc : 0), w.cap_inheritable);
  sys::prctl(PR_CAP_AMBIENT, AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int k = 0; k < 64; k++)
    if (has_cap(w.cap_ambient, k) && (e = sys::prctl(PR_CAP_AMBIENT, AMBIENT_RAISE, k, 0, 0)) < 0)
      fail_step("raising an ambient capability", e);
  if (keep_setpcap && (e = sys::prctl(PR_SET_SECUREBITS, w.securebits, 0, 0, 0)) < 0) fail_step("securebits", e);
  capset(w.cap_effective, w.cap_permitted, w.cap_inheritable);
  // A change of ids made the process non-dumpable; the agent needs its /proc files until resume,
  // when it sets the program's flag (see the top: only that user and root can look in meanwhile).
  sys::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}
}  // namespace rs
#endif  // AMBER_RESTORER
