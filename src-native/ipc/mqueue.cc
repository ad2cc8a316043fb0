// POSIX message queues (mq_open): AMBER_FD_FILE, subkind AMBER_FILE_MQUEUE (a queue's descriptor
// is a file of the mqueue filesystem; fd/fd.cc classify() tells it by statfs).
//
// Capture: the queue's attributes (mq_getsetattr) and its messages, each with its priority, in
// the record's data (amber_mqueue, then amber_mq_msg + bytes each). The messages are taken by
// receiving them all through a description of our own (the application's offset and flags are
// untouched) and sent back at once, in the order they came out (priority, then arrival), so the
// queue is as it was; every process of the computation is parked meanwhile, and the processes
// holding one queue take turns (amber::hold_still, from before the message count is read until
// everything is back). A process registered
// for notification (mq_notify) is said at checkpoint: the registration does not come back.
//
// Restore, before the fork, each queue once (by inode): made again at its name with its
// attributes and mode (a queue left at the name by the previous run is replaced: the image is
// what the computation had), its messages sent again in order; a queue that had been unlinked is
// made under a name of our own and unlinked at once. Every saved descriptor gets a description
// of it with its own access mode; O_NONBLOCK is put back with the other status flags.
#include "fd/ops.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <fcntl.h>

#include "agent/capture.h"

namespace fd {
namespace {
constexpr long NR_mq_timedsend = 242, NR_mq_timedreceive = 243, NR_mq_getsetattr = 245;
struct MqAttr { long flags, maxmsg, msgsize, curmsgs, pad[4]; };
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
  if (n > 0) {
    text[n] = 0;
    const char* q = __builtin_strstr(text, "NOTIFY_PID:");
    if (q) {
      q += 11;
      while (*q == ' ') q++;
      if (sys::parse_u(&q, 10)) c.limit(f, "a process is registered for its notification (mq_notify): the registration is not restored");
    }
  }
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
  if (!ok) {
    if (c.str.full) c.fail(-E2BIG, "the image's string space is full (POSIX message queue messages)");
    return;
  }
  h.curmsgs = count;
  __builtin_memcpy(c.str.buf + at, &h, sizeof h);
  f.data = amber_str{at, (uint32_t)(c.str.len - at)};
}

bool mqueue_restorable(const amber::Capture&, const amber_fd& f) { return !(f.fd_flags & AMBER_FD_NODATA); }
AMBER_FD_NO_RESUMED(mqueue)
}  // namespace fd
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace {
constexpr long NR_mq_open = 240, NR_mq_unlink = 241, NR_mq_timedsend = 242;
struct MqAttr { long flags, maxmsg, msgsize, curmsgs, pad[4]; };

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
#endif
