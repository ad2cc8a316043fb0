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
#include <signal.h>

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
  KSigevent ev{};
  ev.value = saved.value;
  ev.signo = saved.signo;
  ev.notify = saved.notify;
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
  fd::KSigevent ev{};
  if (sev && sys::vm_read(&ev, sev, sizeof ev) == (long)sizeof ev && ev.notify != fd::SIGEV_SIGNAL_ && ev.notify != fd::SIGEV_NONE_) {
    using Fn = int (*)(int, const struct sigevent*);
    static Fn next = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "mq_notify"));
    if (!next) return (int)ret(-ENOSYS);
    return next(q, sev);
  }
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
  return out->notify == 0 /*SIGEV_SIGNAL*/ || out->notify == 1 /*SIGEV_NONE*/;
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
    long r = sys::sc2(NR_mq_notify, f.fd, (long)&ev);
    if (r < 0) warn_fd("cannot register the process again for its POSIX message queue's notification (mq_notify)", f, r, "no notification comes");
  }
}
}  // namespace rs
#endif
