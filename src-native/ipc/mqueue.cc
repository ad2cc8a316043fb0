// POSIX message queues (mq_open): AMBER_FD_FILE, subkind AMBER_FILE_MQUEUE (a queue's descriptor
// is a file of the mqueue filesystem; fd/fd.cc classify() tells it by statfs).
//
// Capture: the queue's attributes (mq_getsetattr) and its messages, each with its priority, in
// the record's data (amber_mqueue, then amber_mq_msg + bytes each). The messages are taken by
// receiving them all through a description of our own (the application's offset and flags are
// untouched) and sent back at once, in the order they came out (priority, then arrival), so the
// queue is as it was; every process of the computation is parked meanwhile, and the processes
// holding one queue take turns (amber::hold_still, from before the message count is read until
// everything is back).
//
// Notification (mq_notify): the agent wraps mq_notify and keeps, per queue (device, inode), the
// sigevent the process registered with; the kernel shows only the owner, the notify type and the
// signal (read(2) of the queue), not si_value. At capture a queue whose owner is this process and
// whose registration the wrapper saw is saved with it (amber_mq_notify after the messages); one
// registered by a raw system call is named (c.limit). Taking the messages out and back would fire
// the registration (a send that makes the queue non-empty notifies): the owner unregisters first
// and registers again after, with the same sigevent; a queue with messages registered by another
// process is named, as that process would see a notification.
//
// Restore, before the fork, each queue once (by inode): made again at its name with its
// attributes and mode (a queue left at the name by the previous run is replaced: the image is
// what the computation had), its messages sent again in order; a queue that had been unlinked is
// made under a name of our own and unlinked at once. Every saved descriptor gets a description
// of it with its own access mode; O_NONBLOCK is put back with the other status flags. A saved
// registration is made again by the restored process itself (the kernel keeps the registering
// process as the owner and signals it), once every descriptor is back and before the program runs.
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "agent/agent.h"
#include "agent/capture.h"

#include "sys/usermem.h"

namespace fd {
namespace {
constexpr long NR_mq_timedsend = 242, NR_mq_timedreceive = 243, NR_mq_notify = 244, NR_mq_getsetattr = 245;
struct MqAttr { long flags, maxmsg, msgsize, curmsgs, pad[4]; };
// The kernel's struct sigevent (x86-64): value, signo, notify, then a union (64 bytes in all).
struct KSigevent { uint64_t value; int32_t signo, notify; int32_t tid, pad[11]; };
constexpr int SIGEV_SIGNAL_ = 0, SIGEV_NONE_ = 1;

// The registrations the wrapper saw, by queue. In .bss: they come back with memory; the capture
// trusts one only when the kernel still shows this process as the queue's owner.
struct Reg { uint64_t dev, ino; int32_t notify, signo; uint64_t value; uint32_t used; };
constexpr uint32_t kRegs = 1024;
Reg g_reg[kRegs];
uint32_t g_nreg;
volatile uint32_t g_reg_lock;

struct RegGuard {
  uint64_t old;
  RegGuard() {
    uint64_t set = amber::g.sig > 0 ? 1ull << (amber::g.sig - 1) : 0;  // never parked holding it
    sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &set, &old);
    while (__atomic_exchange_n(&g_reg_lock, 1u, __ATOMIC_ACQUIRE)) sys::sc0(24 /*sched_yield*/);
  }
  ~RegGuard() {
    __atomic_store_n(&g_reg_lock, 0u, __ATOMIC_RELEASE);
    sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &old, nullptr);
  }
};

Reg* reg_find(uint64_t dev, uint64_t ino) {
  for (uint32_t i = 0; i < g_nreg; i++)
    if (g_reg[i].used && g_reg[i].dev == dev && g_reg[i].ino == ino) return &g_reg[i];
  return nullptr;
}

// After a successful mq_notify(q, sev) (sev null: unregistered).
void reg_note(int q, const KSigevent* ev) {
  sys::kstat st{};
  if (sys::fstat(q, &st) < 0) return;
  RegGuard g;
  Reg* r = reg_find(st.st_dev, st.st_ino);
  if (!ev) {
    if (r) r->used = 0;
    return;
  }
  if (!r) {
    for (uint32_t i = 0; i < g_nreg && !r; i++)
      if (!g_reg[i].used) r = &g_reg[i];
    if (!r && g_nreg < kRegs) r = &g_reg[g_nreg++];
    if (!r) return;  // more queues than the table: the capture names the registration
  }
  *r = Reg{(uint64_t)st.st_dev, (uint64_t)st.st_ino, ev->notify, ev->signo, ev->value, 1};
}

// ---- SIGEV_THREAD, done by the agent ----------------------------------------------------------
// glibc runs it through a helper thread that blocks every signal, the suspend signal too: such a
// process could never be checkpointed. So the agent does what glibc does, with a helper it can
// stop: one netlink socket per process (an ordinary descriptor of the program's table, like
// glibc's: fd/netlink.cc restores it at its number), the kernel registration made with that
// socket and a 32-byte cookie naming a slot of ours (slot, sequence; the kernel writes its status
// into the last byte), and one helper thread — every signal blocked but the suspend signal —
// receiving cookies: NOTIFY_WOKENUP runs the function in a new detached thread (all signals
// unblocked, glibc's behaviour) with the attributes given, NOTIFY_REMOVED (mq_notify(NULL), the
// owner's close of the queue) frees the slot. The slots come back with memory; the restorer
// registers the saved cookie again (ipc/mqueue.cc mqueue_notify_again).
constexpr int SIGEV_THREAD_ = 2;
constexpr uint8_t NOTIFY_WOKENUP_ = 1, NOTIFY_REMOVED_ = 2;
struct MqtSlot {
  volatile uint32_t used;
  uint32_t seq;
  void (*fn)(union sigval);
  union sigval val;
  bool has_attr;
  size_t stack, guard;
  int inherit, policy, scope;
  struct sched_param sp;
};
constexpr uint32_t kMqt = 1024;
MqtSlot g_mqt[kMqt];
uint32_t g_mqt_seq;
int g_mqt_sock = -1;
volatile uint32_t g_mqt_state;  // 0 none, 1 starting, 2 running

// Cookie bytes 0-7: slot | sequence << 32 (the value Reg keeps); the rest zero.
void cookie_of(uint64_t v, uint8_t out[32]) {
  for (int i = 0; i < 32; i++) out[i] = 0;
  __builtin_memcpy(out, &v, 8);
}

struct MqtCall { void (*fn)(union sigval); union sigval val; };
void* mqt_callback(void* p) {
  MqtCall c = *static_cast<MqtCall*>(p);
  free(p);
  uint64_t none = 0;
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &none, nullptr);
  c.fn(c.val);
  return nullptr;
}

void mqt_run(const MqtSlot& t) {
  MqtCall* c = static_cast<MqtCall*>(malloc(sizeof(MqtCall)));
  if (!c) return;
  c->fn = t.fn;
  c->val = t.val;
  pthread_attr_t at;
  pthread_attr_init(&at);
  if (t.has_attr) {
    if (t.stack) pthread_attr_setstacksize(&at, t.stack);
    pthread_attr_setguardsize(&at, t.guard);
    pthread_attr_setinheritsched(&at, t.inherit);
    pthread_attr_setschedpolicy(&at, t.policy);
    pthread_attr_setschedparam(&at, &t.sp);
    pthread_attr_setscope(&at, t.scope);
  }
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  if (pthread_create(&th, &at, mqt_callback, c) != 0) free(c);
  pthread_attr_destroy(&at);
}

// The slot a received cookie names, if it is still the registration it was made for.
MqtSlot* mqt_slot(const uint8_t* ck) {
  uint64_t v;
  __builtin_memcpy(&v, ck, 8);
  uint32_t i = (uint32_t)v, seq = (uint32_t)(v >> 32);
  if (i >= kMqt || !__atomic_load_n(&g_mqt[i].used, __ATOMIC_ACQUIRE) || g_mqt[i].seq != seq) return nullptr;
  return &g_mqt[i];
}

void* mqt_helper(void*) {
  uint64_t mask = ~0ull & ~(amber::g.sig > 0 ? 1ull << (amber::g.sig - 1) : 0ull);
  sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &mask, nullptr);
  __atomic_store_n(&g_mqt_state, 2u, __ATOMIC_RELEASE);
  sys::futex_wake(&g_mqt_state, 0x7fffffff);
  for (;;) {
    uint8_t ck[32];
    long r = sys::sc6(sys::NR_recvfrom, g_mqt_sock, (long)ck, sizeof ck, 0x100 /*MSG_WAITALL*/ | 0x4000 /*MSG_NOSIGNAL*/, 0, 0);
    if (r == -EBADF || r == -ENOTSOCK) break;  // the program closed it: no notification can come
    if (r != (long)sizeof ck) continue;
    MqtSlot* t = mqt_slot(ck);
    if (!t) continue;
    if (ck[31] == NOTIFY_WOKENUP_) mqt_run(*t);
    // One notification per registration: the slot is free either way.
    __atomic_store_n(&t->used, 0u, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&g_mqt_state, 0u, __ATOMIC_RELEASE);
  return nullptr;
}

bool mqt_ensure() {
  uint32_t zero = 0;
  if (__atomic_compare_exchange_n(&g_mqt_state, &zero, 1u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    long s = sys::socket(16 /*AF_NETLINK*/, 3 /*SOCK_RAW*/ | O_CLOEXEC, 0 /*NETLINK_ROUTE*/);
    int e = -1;
    if (s >= 0) {
      g_mqt_sock = (int)s;
      pthread_attr_t at;
      pthread_attr_init(&at);
      pthread_attr_setstacksize(&at, 128 * 1024);
      pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
      pthread_t th;
      e = pthread_create(&th, &at, mqt_helper, nullptr);
      pthread_attr_destroy(&at);
      if (e != 0) { sys::close((int)s); g_mqt_sock = -1; }
    }
    if (e != 0) {
      __atomic_store_n(&g_mqt_state, 0u, __ATOMIC_RELEASE);
      sys::futex_wake(&g_mqt_state, 0x7fffffff);
      return false;
    }
  }
  for (;;) {
    uint32_t st = __atomic_load_n(&g_mqt_state, __ATOMIC_ACQUIRE);
    if (st == 2) return true;
    if (st == 0) return false;
    sys::futex_wait(&g_mqt_state, st, nullptr);
  }
}

// A fork child has neither the helper nor the registrations (the kernel's owner is the parent).
void mqt_forked() {
  if (!g_mqt_state) return;
  g_mqt_state = 0;
  if (g_mqt_sock >= 0) sys::close(g_mqt_sock);
  g_mqt_sock = -1;
  for (uint32_t i = 0; i < kMqt; i++) g_mqt[i].used = 0;
}
__attribute__((constructor)) void mqt_init() { pthread_atfork(nullptr, nullptr, mqt_forked); }

// The capture dropped and made again a SIGEV_THREAD registration (closing its description of the
// queue): the kernel's NOTIFY_REMOVED cookie for it, queued on the helper's socket while the
// helper is parked, is taken away so the helper never frees the slot (and the netlink socket's
// capture does not find it waiting). Only from the head of the queue: anything else stays.
void mqt_drop_removed(uint64_t value) {
  if (g_mqt_sock < 0) return;
  for (;;) {
    uint8_t ck[32];
    long r = sys::sc6(sys::NR_recvfrom, g_mqt_sock, (long)ck, sizeof ck, 2 /*MSG_PEEK*/ | 0x40 /*MSG_DONTWAIT*/, 0, 0);
    uint64_t v;
    __builtin_memcpy(&v, ck, 8);
    if (r != (long)sizeof ck || v != value || ck[31] != NOTIFY_REMOVED_) return;
    sys::sc6(sys::NR_recvfrom, g_mqt_sock, (long)ck, sizeof ck, 0x40 /*MSG_DONTWAIT*/, 0, 0);
  }
}

// The kernel sigevent of a saved registration (a SIGEV_THREAD one's cookie in ck).
KSigevent kernel_ev(const Reg& r, uint8_t ck[32]) {
  KSigevent ev{};
  ev.signo = r.signo;
  ev.notify = r.notify;
  ev.value = r.value;
  if (r.notify == SIGEV_THREAD_) {
    cookie_of(r.value, ck);
    ev.value = (uint64_t)ck;
  }
  return ev;
}
}  // namespace

void mqueue_capture(amber::Capture& c, amber_fd& f, const sys::kstat&) {
  f.subkind = AMBER_FILE_MQUEUE;
  char p[48];
  sys::Out(p, sizeof p).s("/proc/thread-self/fd/").i(f.fd);
  // A description of our own, non-blocking: never a wait, never the application's flags.
  long own = sys::open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (own < 0) own = sys::open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (own >= 0) {
    // Before the attributes: their message count is what we take.
    long lr = amber::hold_still((int)own);
    if (lr < 0) {
      sys::close((int)own);
      c.fail(lr, "cannot hold a POSIX message queue still while its messages are taken");
      return;
    }
  }
  MqAttr a{};
  if (own < 0 || sys::sc3(NR_mq_getsetattr, own, 0, (long)&a) < 0 || a.msgsize <= 0 || a.curmsgs < 0) {
    if (own >= 0) sys::close((int)own);
    f.fd_flags |= AMBER_FD_NODATA;
    return;
  }
  // Its notification registration (read(2) of a queue: "QSIZE:... NOTIFY:... SIGNO:... NOTIFY_PID:N").
  char text[160];
  long n = sys::read((int)own, text, sizeof text - 1);
  uint64_t owner = 0, kind = 0;
  if (n > 0) {
    text[n] = 0;
    const char* q = __builtin_strstr(text, "NOTIFY_PID:");
    if (q) {
      q += 11;
      while (*q == ' ') q++;
      owner = sys::parse_u(&q, 10);
    }
    if ((q = __builtin_strstr(text, "NOTIFY:"))) {
      q += 7;
      while (*q == ' ') q++;
      kind = sys::parse_u(&q, 10);
    }
  }
  // Ours, and seen by the wrapper with the same type: saved and made again at restart.
  bool mine = owner && (long)owner == sys::getpid();
  Reg saved{};
  bool have = false;
  if (mine) {
    RegGuard g;
    if (Reg* r = reg_find(f.dev, f.inode)) { saved = *r; have = (uint64_t)saved.notify == kind; }
  }
  if (mine && !have)
    c.limit(f, "this process is registered for its notification by a call amber did not see (a raw mq_notify): the registration is not restored, and reading the queue at checkpoint drops it");
  else if (owner && !mine && a.curmsgs > 0)
    c.limit(f, "another process is registered for its notification and messages are waiting: taking and putting them back at checkpoint notifies it");
  // Taking the messages and sending them back would notify us: unregistered meanwhile.
  uint8_t ck[32];
  KSigevent ev = kernel_ev(saved, ck);
  bool paused = have && a.curmsgs > 0 && sys::sc2(NR_mq_notify, own, 0) == 0;
  amber_mqueue h{};
  h.maxmsg = (uint64_t)a.maxmsg;
  h.msgsize = (uint64_t)a.msgsize;
  uint32_t at = c.str.append(&h, sizeof h);
  // Receive everything (into the string space, in place), then send it all back in that order.
  uint64_t count = 0;
  bool ok = !c.str.full;
  while (ok && count < (uint64_t)a.curmsgs) {
    char* room = c.str.reserve(sizeof(amber_mq_msg) + (uint64_t)a.msgsize + 8);
    if (!room) { ok = false; break; }
    unsigned prio = 0;
    struct { long s, ns; } zero{0, 0};
    long r;
    // A signal to this thread (EINTR) is no end of the queue: stopping there would send back only
    // the head, behind the messages still queued (two messages of one priority came back swapped).
    do r = sys::sc5(NR_mq_timedreceive, own, (long)(room + sizeof(amber_mq_msg)), a.msgsize, (long)&prio, (long)&zero);
    while (r == -EINTR);
    if (r == -EAGAIN) break;  // emptied sooner than counted: nothing else to take
    if (r < 0) { ok = false; c.fail(r, "cannot take the messages of a POSIX message queue"); break; }
    amber_mq_msg m{};
    m.prio = prio;
    m.len = (uint32_t)r;
    __builtin_memcpy(room, &m, sizeof m);
    uint64_t used = (sizeof m + (uint64_t)r + 7) & ~7ull;
    __builtin_memset(room + sizeof m + r, 0, used - sizeof m - (uint64_t)r);
    c.str.len += (uint32_t)used;
    count++;
  }
  // Back into the queue, in the order they came out. (Offsets, not pointers: nothing adds meanwhile.)
  const char* d = c.str.buf + at + sizeof h;
  for (uint64_t k = 0; k < count; k++) {
    amber_mq_msg m;
    __builtin_memcpy(&m, d, sizeof m);
    struct { long s, ns; } zero{0, 0};
    long r;
    do r = sys::sc5(NR_mq_timedsend, own, (long)(d + sizeof m), m.len, m.prio, (long)&zero);
    while (r == -EINTR);
    if (r < 0) c.fail(r, "cannot put a message back into a POSIX message queue");
    d += (sizeof m + m.len + 7) & ~7ull;
  }
  sys::close((int)own);
  // Closing a description of the queue in the owner process drops its registration (the kernel's
  // flush): registered again through the application's descriptor, as it was, and unless we took
  // it away ourselves (paused) only when the close did drop it (EBUSY: still there).
  if (have) {
    long r = sys::sc2(NR_mq_notify, f.fd, (long)&ev);
    if (r < 0 && (paused || r != -EBUSY)) c.fail(r, "cannot register the process again for its POSIX message queue's notification");
    if (saved.notify == SIGEV_THREAD_) mqt_drop_removed(saved.value);
  }
  if (!ok) {
    if (c.str.full) c.fail(-E2BIG, "the image's string space is full (POSIX message queue messages)");
    return;
  }
  h.curmsgs = count;
  if (have) {
    amber_mq_notify rec{};
    rec.notify = saved.notify;
    rec.signo = saved.signo;
    rec.sival = saved.value;
    c.str.append(&rec, sizeof rec);
    h.reserved |= AMBER_MQ_NOTIFY;
  }
  if (c.str.full) { c.fail(-E2BIG, "the image's string space is full (POSIX message queue messages)"); return; }
  __builtin_memcpy(c.str.buf + at, &h, sizeof h);
  f.data = amber_str{at, (uint32_t)(c.str.len - at)};
}

bool mqueue_restorable(const amber::Capture&, const amber_fd& f) { return !(f.fd_flags & AMBER_FD_NODATA); }
AMBER_FD_NO_RESUMED(mqueue)
}  // namespace fd

namespace {
inline long ret(long r) {
  if ((unsigned long)r > -4096ul) {
    errno = (int)-r;
    return -1;
  }
  return r;
}
}  // namespace

extern "C" {
// glibc's mq_notify is the system call for every type but SIGEV_THREAD (its helper thread blocks
// every signal, ours too: such a process cannot be checkpointed, and says so).
__attribute__((visibility("default"))) int mq_notify(int q, const struct sigevent* sev) {
  using namespace fd;
  KSigevent ev{};
  struct sigevent user;
  if (sev && sys::vm_read(&user, sev, sizeof user) == (long)sizeof user && user.sigev_notify == SIGEV_THREAD_) {
    if (!amber::g.active) {
      using Fn = int (*)(int, const struct sigevent*);
      static Fn next = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "mq_notify"));
      return next ? next(q, sev) : (int)ret(-ENOSYS);
    }
    if (!mqt_ensure()) return (int)ret(-EAGAIN);
    MqtSlot* t = nullptr;
    for (uint32_t i = 0; i < kMqt && !t; i++) {
      uint32_t zero = 0;
      if (__atomic_compare_exchange_n(&g_mqt[i].used, &zero, 1u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) t = &g_mqt[i];
    }
    if (!t) return (int)ret(-EAGAIN);
    t->seq = __atomic_add_fetch(&g_mqt_seq, 1u, __ATOMIC_RELAXED);
    t->fn = user.sigev_notify_function;
    t->val = user.sigev_value;
    t->has_attr = user.sigev_notify_attributes != nullptr;
    if (t->has_attr) {
      const pthread_attr_t* a = user.sigev_notify_attributes;
      t->stack = 0;
      pthread_attr_getstacksize(a, &t->stack);
      pthread_attr_getguardsize(a, &t->guard);
      pthread_attr_getinheritsched(a, &t->inherit);
      pthread_attr_getschedpolicy(a, &t->policy);
      pthread_attr_getschedparam(a, &t->sp);
      pthread_attr_getscope(a, &t->scope);
    }
    Reg r{};
    r.notify = SIGEV_THREAD_;
    r.signo = g_mqt_sock;
    r.value = (uint64_t)(t - g_mqt) | (uint64_t)t->seq << 32;
    uint8_t ck[32];
    ev = kernel_ev(r, ck);
    long k = sys::sc2(NR_mq_notify, q, (long)&ev);
    if (k < 0) {
      __atomic_store_n(&t->used, 0u, __ATOMIC_RELEASE);
      return (int)ret(k);
    }
    ev.value = r.value;  // what the registration is kept as (the cookie's first 8 bytes)
    reg_note(q, &ev);
    return 0;
  }
  if (sev) __builtin_memcpy(&ev, &user, sizeof ev);
  long r = sys::sc2(fd::NR_mq_notify, q, (long)sev);
  if (r == 0) fd::reg_note(q, sev ? &ev : nullptr);
  return (int)ret(r);
}
}
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace {
constexpr long NR_mq_open = 240, NR_mq_unlink = 241, NR_mq_timedsend = 242, NR_mq_notify = 244;
struct MqAttr { long flags, maxmsg, msgsize, curmsgs, pad[4]; };
struct KSigevent { uint64_t value; int32_t signo, notify; int32_t tid, pad[11]; };

// The registration saved with record f (format 1.7), after its messages; false when none.
bool notify_of(const amber_view& v, const amber_fd& f, amber_mq_notify* out) {
  const char* d;
  uint32_t len;
  if (f.kind != AMBER_FD_FILE || f.subkind != AMBER_FILE_MQUEUE || (f.fd_flags & (AMBER_FD_NODATA | AMBER_FD_HIDDEN)) ||
      !amber_str_at(&v, f.data, &d, &len) || len < sizeof(amber_mqueue))
    return false;
  amber_mqueue h;
  memcpy(&h, d, sizeof h);
  if (!(h.reserved & AMBER_MQ_NOTIFY)) return false;
  const char* m = d + sizeof h;
  const char* end = d + len;
  for (uint64_t k = 0; k < h.curmsgs; k++) {
    amber_mq_msg msg;
    if (m + sizeof msg > end) return false;
    memcpy(&msg, m, sizeof msg);
    if ((uint64_t)(end - m) < ((sizeof msg + msg.len + 7) & ~7ull)) return false;
    m += (sizeof msg + msg.len + 7) & ~7ull;
  }
  if (m + sizeof *out > end) return false;
  memcpy(out, m, sizeof *out);
  return out->notify == 0 /*SIGEV_SIGNAL*/ || out->notify == 1 /*SIGEV_NONE*/ || out->notify == 2 /*SIGEV_THREAD*/;
}

// The queue of record f (image img) made again with its messages; its name (without the leading
// slash, as mq_open(2) takes it) in name. A lifted descriptor, or -errno.
long make(int img, const amber_fd& f) {
  using namespace rs;
  const amber_view& v = T.img[img].v;
  const char* d;
  uint32_t len;
  if (!amber_str_at(&v, f.data, &d, &len) || len < sizeof(amber_mqueue)) return -22;
  amber_mqueue h;
  memcpy(&h, d, sizeof h);
  char path[300], name[300];
  str_of(v, f.path, path, sizeof path);
  bool deleted = is_deleted(path);
  if (deleted) sys::Out(name, sizeof name).s("amber-mq-").i(sys::getpid()).s("-").u(f.inode);
  else sys::Out(name, sizeof name).s(path[0] == '/' ? path + 1 : path);
  MqAttr a{};
  a.maxmsg = (long)h.maxmsg;
  a.msgsize = (long)h.msgsize;
  long fd = -17;
  for (int tries = 0; tries < 2 && fd == -17 /*EEXIST*/; tries++) {
    sys::sc1(NR_mq_unlink, (long)name);  // the previous run's queue, if it outlived it
    fd = sys::sc4(NR_mq_open, (long)name, sys::O_RDWR_ | sys::O_CREAT_ | sys::O_EXCL_ | sys::O_CLOEXEC_ | sys::O_NONBLOCK_,
                  (long)(f.mode & 0777), (long)&a);
  }
  if (fd < 0) return fd;
  const char* m = d + sizeof h;
  const char* end = d + len;
  for (uint64_t k = 0; k < h.curmsgs; k++) {
    amber_mq_msg msg;
    if (m + sizeof msg > end) break;
    memcpy(&msg, m, sizeof msg);
    if (m + sizeof msg + msg.len > end) break;
    long r = sys::sc5(NR_mq_timedsend, fd, (long)(m + sizeof msg), msg.len, msg.prio, 0);
    if (r < 0) { warn_fd("cannot put a message back into its POSIX message queue", f, r, "the queue lacks it"); break; }
    m += (sizeof msg + msg.len + 7) & ~7ull;
  }
  if (deleted) sys::sc1(NR_mq_unlink, (long)name);
  // Mode last (a queue made without write permission still takes our messages above: we own it).
  sys::sc2(sys::NR_fchmod, fd, (long)(f.mode & 0777));
  return lift(fd);
}
}  // namespace

namespace fd {
AMBER_FD_NO_CHECK(mqueue)

void mqueue_prepare() {
  using namespace rs;
  for (Ref* r = refs_begin(Kind::MQUEUE); r != refs_end(Kind::MQUEUE);) {
    Ref* end = r;
    while (end != refs_end(Kind::MQUEUE) && end->inode == r->inode) end++;
    const amber_fd& f0 = fd_of(*r);
    long q = (f0.fd_flags & AMBER_FD_NODATA) ? -61 : make((int)r->img, f0);
    if (q < 0) {
      warn_fd("cannot make its POSIX message queue again", f0, q, "it becomes /dev/null");
    } else {
      // One description per saved descriptor, with its access mode (O_NONBLOCK: status flags).
      char self[48];
      sys::Out(self, sizeof self).s("/proc/thread-self/fd/").i(q);
      for (Ref* e = r; e != end; e++) {
        const amber_fd& f = fd_of(*e);
        if (restart_stdio(f, (int)e->img) || (f.fd_flags & AMBER_FD_NODATA)) continue;
        long d = lift(sys::open(self, (f.flags & sys::O_ACCMODE_) | sys::O_CLOEXEC_, 0));
        if (d < 0) { warn_fd("cannot open its POSIX message queue again", f, d, "it becomes /dev/null"); continue; }
        assign((int)e->img, e->idx, d);
      }
      sys::close((int)q);
      settle();
    }
    r = end;
  }
}

long mqueue_restore(rs::Proc&, uint32_t) { return -1; }  // made before the fork, or said why not

AMBER_FD_NO_FINISH(mqueue)
}  // namespace fd

namespace rs {
// The process's notification registrations, made again by the process itself (the kernel records
// the caller as the owner it signals), through the restored descriptor, once per queue. After the
// last close of the restart (close_strays): the owner closing any description of the queue drops
// its registration.
void mqueue_notify_again(Proc& p) {
  const amber_view& v = *p.v;
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    amber_mq_notify n;
    if (!notify_of(v, f, &n)) continue;
    bool again = false;
    for (uint32_t j = 0; j < i && !again; j++) {
      amber_mq_notify m;
      again = v.fds[j].inode == f.inode && notify_of(v, v.fds[j], &m);
    }
    if (again) continue;
    KSigevent ev{};
    ev.value = n.sival;
    ev.signo = n.signo;
    ev.notify = n.notify;
    // SIGEV_THREAD (the agent's helper): signo is its netlink socket, back at its number; the
    // kernel copies the 32-byte cookie now: sival, then zeros.
    uint8_t ck[32] = {};
    if (n.notify == 2) {
      memcpy(ck, &n.sival, 8);
      ev.value = (uint64_t)ck;
    }
    long r = sys::sc2(NR_mq_notify, f.fd, (long)&ev);
    if (r < 0) warn_fd("cannot register the process again for its POSIX message queue's notification (mq_notify)", f, r, "no notification comes");
  }
}
}  // namespace rs
#endif
