// Linux AIO contexts (io_setup): a region flagged AMBER_REG_AIO. A context's id is the address of
// its ring, a shared mapping the kernel made ("/[aio] (deleted)" in maps): the program keeps that
// number and passes it to io_submit, io_getevents and io_destroy, and libaio reads completed
// events straight from the ring (its head and tail) without a system call.
//
// Capture: a ring is ours when the kernel knows its address as a context of this process
// (io_getevents for no events answers 0, not EINVAL: a forked child has a copy of its parent's
// ring mapping but no context). Its bytes are stored like any region's: the header (nr, head,
// tail) and the completed events not reaped yet.
//
// Restore (stage 3, after regions.cc mapped the saved bytes at the ring's address): a new context
// whose ring has the same size (io_setup asks for the number of events that makes that many
// pages), the kernel's tail brought to the saved one by requests that complete at once (reads of
// no bytes from /dev/null: submitted and reaped up to the saved head, then submitted and left for
// the program up to the saved tail), the saved events written into those slots, and the new ring
// moved over the saved one with mremap, which tells the kernel the context's id is that address
// again. A ring the machine would make in another size (the kernel rounds up to four events per
// possible CPU) is refused by name.
//
// Requests in flight (submitted, not completed: an IOCB_CMD_POLL on a descriptor that is not ready,
// an O_DIRECT read the device has not answered) are nowhere in /proc: the agent keeps them. Its
// io_submit and io_cancel (syscall(2)'s numbers, and libaio's exported functions, which libaio
// makes as inline system calls) note each request in a table per context, with a copy of its iocb,
// before the call, and settle the table after it (how many the kernel took). Completions are not
// seen where they are reaped — io_getevents, or libaio's reading of the ring in user space — but
// where the kernel puts them: every note first "sweeps" the ring, the events between the tail it
// saw last and the tail now, each taking its request (event.obj, the iocb's address) off the
// table. Between two sweeps the kernel completes at most what was in flight, fewer than the ring
// holds, so no slot is written twice unseen. At a checkpoint (every thread parked) the table after
// a last sweep is what is in flight: amber_aio_req records (format 1.8) in submission order, with
// the tail swept up to. The restorer submits them again on the rebuilt context, from their
// original addresses, once the descriptors are back (aio_resubmit).
//
// Why submitting again is right: a request that had not completed had given the program nothing
// -- no event, no bytes (a read fills its buffer only as it completes; a POLL reports readiness
// only in its event) -- and what it waits for is in the restored state (the pipe's bytes, the
// file). What is refused by name at the checkpoint, because doing it again could do twice what was
// half done: a write (IOCB_CMD_PWRITE, PWRITEV) in flight anywhere but at an offset of a regular
// file or block device without O_APPEND/RWF_APPEND (there the same bytes land at the same place: a
// pwrite is idempotent), and any opcode not named here. fsync and fdatasync are idempotent.
//
// The iocb submitted again is the agent's copy, taken when the program submitted it: the kernel
// copied it then too, so the program may have reused that memory (an iocb on a stack frame that
// returned). Its address is the completion's obj and must stay: the restorer writes the copy
// there, submits, and puts the program's bytes back.
//
// A thread between noting and settling: the system call is made by one small stub
// (amber_aio_sc3) that stores the kernel's answer right after its `syscall` instruction; a thread
// the checkpoint's signal stopped exactly there (the answer in rax, not stored yet) has it stored
// by the suspend handler (aio::parked). A call whose answer is known is settled by the capture; one
// not made yet (the thread is parked before the syscall, or the kernel will re-run it) leaves its
// requests out: the thread makes the call when it runs again, live or restarted. The table is
// changed only with the suspend signal blocked (no thread is parked halfway through a change); the
// system call itself runs with it open, so a thread blocked in io_submit is stopped like any other.
// Limit: a thread blocked inside io_submit (a read of a pipe or socket is done synchronously there)
// has that request failed with EINTR by the kernel when any signal comes, ours included.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"
#include "sys/sys.h"

namespace {
constexpr long NR_io_setup = 206, NR_io_destroy = 207, NR_io_getevents = 208, NR_io_submit = 209, NR_io_cancel = 210;
// struct iocb's opcodes (linux/aio_abi.h)
enum : uint16_t { CMD_PREAD = 0, CMD_PWRITE = 1, CMD_FSYNC = 2, CMD_FDSYNC = 3, CMD_POLL = 5, CMD_NOOP = 6,
                  CMD_PREADV = 7, CMD_PWRITEV = 8 };
struct Ring {  // struct aio_ring's header (the kernel's user ABI)
  uint32_t id, nr, head, tail, magic, compat, incompat, header_length;
};
struct Event { uint64_t data, obj; int64_t res, res2; };  // struct io_event
struct Iocb {  // struct iocb
  uint64_t data;
  uint32_t key, rw_flags;
  uint16_t opcode;
  int16_t reqprio;
  uint32_t fildes;
  uint64_t buf, nbytes;
  int64_t offset;
  uint64_t reserved2;
  uint32_t flags, resfd;
};
static_assert(sizeof(Ring) == 32 && sizeof(Event) == 32 && sizeof(Iocb) == 64, "AIO ABI");
static_assert(sizeof(Iocb) == sizeof(amber_aio_req::cb), "an iocb fits its record");
}  // namespace

#ifdef AMBER_AGENT
#include <errno.h>
#include <signal.h>
#include <ucontext.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "sys/usermem.h"

// The one place the agent makes io_submit and io_cancel: (nr, a, b, c, result) -> the kernel's
// answer, also stored at *result by the instruction right after `syscall` (amber_aio_sc3_after), so
// that a thread stopped between the two is recognised by its rip (aio_parked). rcx and r11 are the
// only registers the kernel changes: r8 still holds `result` after the call.
extern "C" long amber_aio_sc3(long nr, long a, long b, long c, long* result);
extern "C" char amber_aio_sc3_after[];
asm(R"(
  .text
  .globl amber_aio_sc3
  .hidden amber_aio_sc3
  .type amber_aio_sc3, @function
amber_aio_sc3:
  mov %rdi, %rax
  mov %rsi, %rdi
  mov %rdx, %rsi
  mov %rcx, %rdx
  syscall
  .globl amber_aio_sc3_after
  .hidden amber_aio_sc3_after
amber_aio_sc3_after:
  mov %rax, (%r8)
  ret
  .size amber_aio_sc3, .-amber_aio_sc3
)");

namespace amber {
bool aio_ring_ours(uint64_t start) {
  struct { long s, ns; } zero{0, 0};
  return sys::sc5(NR_io_getevents, (long)start, 0, 0, 0, (long)&zero) == 0;
}

namespace aio {
namespace {
constexpr uint32_t kCtxs = 64;   // contexts followed at once (more: a checkpoint says so)
constexpr uint32_t kOps = 128;   // io_submit/io_cancel calls under way at once (threads)
constexpr long kUnknown = (long)(1ull << 63);  // an op's answer not given yet

// A request in a context's table, in submission order. TENT: noted before its io_submit, whose
// answer is not known yet; LIVE: the kernel took it; CANCELLING: an io_cancel of it is under way;
// CANCELLED: cancelled (io_cancel answered), its completion not swept yet.
enum : uint32_t { E_TENT = 1, E_LIVE = 2, E_CANCELLING = 3, E_CANCELLED = 4 };
struct Ent {
  uint64_t addr;
  uint32_t state, op;  // op: the g_ops index + 1 of the call under way on it (0: none)
  uint32_t k, pad;     // TENT: its index in that io_submit's array
  Iocb cb;             // as the program submitted it
};
struct Ctx {
  uint64_t id;     // 0: slot free
  Ent* e;
  uint32_t n, cap;
  uint32_t nr;     // the ring's size in events
  uint32_t seen;   // ring slot up to which completions were swept
  bool overflow;   // a request could not be noted: the table is not the truth (a checkpoint refuses)
  uint64_t map_len;
};
enum : uint32_t { OP_FREE = 0, OP_SUBMIT = 1, OP_CANCEL = 2 };
struct Op {
  uint32_t kind;
  int32_t tid;
  uint64_t ctx;
  long result;      // kUnknown until the stub (or aio_parked) stores the kernel's answer
  uint32_t settled; // the table has taken the answer in (by the caller, or by the capture)
};

Ctx g_ctx[kCtxs];
Op g_ops[kOps];
uint32_t g_lock;
bool g_lost;  // a context or a call could not be followed (tables full): a checkpoint refuses

// The table changes with our signal blocked: no thread is parked halfway through a change, so the
// capture (every thread parked) reads it whole, without the lock.
struct Section {
  uint64_t old = 0;
  bool masked;
  Section() : masked(g.sig > 0) {
    if (masked) {
      uint64_t b = park_block_mask();
      sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &b, &old);
    }
    while (__atomic_exchange_n(&g_lock, 1u, __ATOMIC_ACQUIRE)) sys::sc0(24 /*sched_yield*/);
  }
  ~Section() {
    __atomic_store_n(&g_lock, 0u, __ATOMIC_RELEASE);
    if (masked) sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &old, nullptr);
  }
};

bool ring_header(uint64_t id, Ring* h) { return sys::vm_read(h, reinterpret_cast<const void*>(id), sizeof *h) == (long)sizeof *h; }

Ctx* find(uint64_t id) {
  for (uint32_t i = 0; i < kCtxs; i++)
    if (g_ctx[i].id == id) return &g_ctx[i];
  return nullptr;
}

void drop(Ctx* x) {
  if (x->e) sys::munmap(x->e, x->map_len);
  *x = Ctx{};
}

// The table of context id, made (or made afresh: fresh) when needed; null when id is no ring or no
// room is left (g_lost).
Ctx* ctx_of(uint64_t id, bool fresh) {
  Ctx* x = find(id);
  if (x && !fresh) return x;
  Ring h;
  if (!ring_header(id, &h) || h.nr == 0 || h.nr > (1u << 24)) return nullptr;  // the kernel will answer EINVAL
  if (x) drop(x);
  if (!(x = find(0))) {
    g_lost = true;
    return nullptr;
  }
  // In flight and noted at once: at most the ring's size each (the kernel takes no more than nr
  // per call and keeps fewer than nr in flight), several threads' calls at once on top.
  uint32_t cap = 2 * h.nr + 64;
  uint64_t len = ((uint64_t)cap * sizeof(Ent) + 4095) & ~4095ull;
  long m = sys::mmap(nullptr, len, sys::PROT_R_ | sys::PROT_W_, sys::MAP_PRIVATE_ | sys::MAP_ANON_, -1, 0);
  if (m < 0) {
    g_lost = true;
    return nullptr;
  }
  *x = Ctx{};
  x->id = id;
  x->e = reinterpret_cast<Ent*>(m);
  x->cap = cap;
  x->map_len = len;
  x->nr = h.nr;
  x->seen = h.tail % h.nr;
  return x;
}

void erase(Ctx* x, uint32_t i) {
  __builtin_memmove(&x->e[i], &x->e[i + 1], (size_t)(x->n - i - 1) * sizeof(Ent));
  x->n--;
}

// The completions the kernel put in the ring since the last sweep take their requests off: the
// first one noted with that address (a program that submits one iocb again before its completion
// cannot tell the two apart either).
void sweep(Ctx* x) {
  Ring h;
  if (!ring_header(x->id, &h) || h.nr != x->nr) return;
  uint32_t tail = h.tail % x->nr;
  Event ev[64];
  while (x->seen != tail) {
    uint32_t run = tail > x->seen ? tail - x->seen : x->nr - x->seen;
    if (run > 64) run = 64;
    uint64_t at = x->id + sizeof(Ring) + (uint64_t)x->seen * sizeof(Event);
    if (sys::vm_read(ev, reinterpret_cast<const void*>(at), run * sizeof(Event)) != (long)(run * sizeof(Event))) return;
    for (uint32_t k = 0; k < run; k++)
      for (uint32_t i = 0; i < x->n; i++)
        if (x->e[i].addr == ev[k].obj) {
          erase(x, i);
          break;
        }
    x->seen = (x->seen + run) % x->nr;
  }
}

Op* op_take(uint32_t kind, uint64_t ctx) {
  for (uint32_t i = 0; i < kOps; i++)
    if (g_ops[i].kind == OP_FREE) {
      g_ops[i] = Op{kind, (int32_t)sys::gettid(), ctx, kUnknown, 0};
      return &g_ops[i];
    }
  g_lost = true;
  return nullptr;
}
uint32_t op_id(const Op* o) { return (uint32_t)(o - g_ops) + 1; }

// The answer is known: the table takes it in.
void settle(Op* o) {
  if (o->settled) return;
  o->settled = 1;
  Ctx* x = find(o->ctx);
  if (!x) return;
  uint32_t id = op_id(o);
  long r = o->result;
  for (uint32_t i = 0; i < x->n;) {
    Ent& e = x->e[i];
    if (e.op != id) { i++; continue; }
    e.op = 0;
    if (o->kind == OP_SUBMIT) {
      if (r >= 0 && e.k < (uint64_t)r) { e.state = E_LIVE; i++; }
      else erase(x, i);  // not taken: the kernel stopped before it
    } else {
      // io_cancel succeeded: 0, or -EINPROGRESS since 4.19 (its event comes through the ring)
      e.state = (r == 0 || r == -EINPROGRESS) ? E_CANCELLED : E_LIVE;
      i++;
    }
  }
}

long submit(uint64_t id, long nr, uint64_t list) {
  Op* o = nullptr;
  {
    Section s;
    Ctx* x = ctx_of(id, false);
    if (x && nr > 0) {
      sweep(x);
      if ((o = op_take(OP_SUBMIT, id))) {
        // The kernel takes at most the ring's size per call and stops at the first iocb it cannot
        // read: so do we.
        uint32_t want = nr > (long)x->nr ? x->nr : (uint32_t)nr;
        for (uint32_t k = 0; k < want; k++) {
          uint64_t p;
          Iocb cb;
          if (sys::vm_read(&p, reinterpret_cast<const void*>(list + 8ull * k), 8) != 8 ||
              sys::vm_read(&cb, reinterpret_cast<const void*>(p), sizeof cb) != (long)sizeof cb)
            break;
          if (x->n == x->cap) {
            x->overflow = true;
            break;
          }
          cb.key = 0;  // the kernel writes KIOCB_KEY (0) there when it takes the request
          x->e[x->n++] = Ent{p, E_TENT, op_id(o), k, 0, cb};
        }
      }
    }
  }
  long dummy;
  long r = amber_aio_sc3(NR_io_submit, (long)id, nr, (long)list, o ? &o->result : &dummy);
  if (o) {
    Section s;
    settle(o);
    o->kind = OP_FREE;
  }
  return r;
}

long cancel(uint64_t id, uint64_t iocb, uint64_t result) {
  Op* o = nullptr;
  {
    Section s;
    if (Ctx* x = find(id)) {
      sweep(x);
      for (uint32_t i = 0; i < x->n; i++)
        if (x->e[i].addr == iocb && x->e[i].state == E_LIVE) {
          if ((o = op_take(OP_CANCEL, id))) {
            x->e[i].state = E_CANCELLING;
            x->e[i].op = op_id(o);
          }
          break;
        }
    }
  }
  long dummy;
  long r = amber_aio_sc3(NR_io_cancel, (long)id, (long)iocb, (long)result, o ? &o->result : &dummy);
  if (o) {
    Section s;
    settle(o);
    o->kind = OP_FREE;
  }
  return r;
}

long setup(long nr, uint64_t ctxp) {
  long r = sys::sc2(NR_io_setup, nr, (long)ctxp);
  uint64_t id;
  if (r == 0 && sys::vm_read(&id, reinterpret_cast<const void*>(ctxp), 8) == 8) {
    Section s;
    ctx_of(id, true);  // a context destroyed behind our back may have had this address
  }
  return r;
}

long destroy(uint64_t id) {
  long r = sys::sc1(NR_io_destroy, (long)id);
  if (r == 0) {
    Section s;
    if (Ctx* x = find(id)) drop(x);
  }
  return r;
}

Iocb iocb_of(const Ent& e) { return e.cb; }

// Would submitting e again do twice what may have been half done? Null when it is safe, else why.
const char* unsafe(const Iocb& cb, char* why, size_t cap) {
  sys::Out o(why, cap);
  long fl = sys::fcntl((int)cb.fildes, 3 /*F_GETFL*/, 0);
  if (fl < 0) {
    o.s("an AIO request in flight on fd ").u(cb.fildes).s(", which was closed since (its file cannot be named again)");
    return why;
  }
  if ((cb.flags & 1 /*IOCB_FLAG_RESFD*/) && sys::fcntl((int)cb.resfd, 1 /*F_GETFD*/, 0) < 0) {
    o.s("an AIO request in flight signals eventfd ").u(cb.resfd).s(", which was closed since");
    return why;
  }
  switch (cb.opcode) {
    case CMD_PREAD: case CMD_PREADV: case CMD_POLL: case CMD_FSYNC: case CMD_FDSYNC: case CMD_NOOP: return nullptr;
    case CMD_PWRITE: case CMD_PWRITEV: {
      sys::kstat st{};
      sys::fstat((int)cb.fildes, &st);
      uint32_t t = st.st_mode & sys::S_IFMT_;
      if ((t == sys::S_IFREG_ || t == 0060000 /*S_IFBLK*/) && !(fl & sys::O_APPEND_) && !(cb.rw_flags & 0x10 /*RWF_APPEND*/))
        return nullptr;  // the same bytes at the same offset: a pwrite done again changes nothing more
      o.s("an AIO write (IOCB_CMD_").s(cb.opcode == CMD_PWRITE ? "PWRITE" : "PWRITEV").s(") in flight on fd ").u(cb.fildes)
          .s(t == sys::S_IFREG_ || t == 0060000 ? " (appending)" : " (not a regular file: a pipe, socket or device)")
          .s(" may have been partly done; submitted again it could write its bytes twice");
      return why;
    }
    default:
      o.s("an AIO request with opcode ").u(cb.opcode).s(" in flight on fd ").u(cb.fildes).s(" (not known to be safe to submit again)");
      return why;
  }
}
}  // namespace

// Suspend handler (signal context: loads and stores only): this thread stopped right after the
// stub's `syscall`, its answer in rax not stored yet: store it, so the capture can settle the call.
void parked(int32_t tid, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  if ((uint64_t)uc->uc_mcontext.gregs[REG_RIP] != reinterpret_cast<uint64_t>(amber_aio_sc3_after)) return;
  for (uint32_t i = 0; i < kOps; i++) {
    Op& o = g_ops[i];
    if (o.kind != OP_FREE && o.tid == tid && o.result == kUnknown) o.result = (long)uc->uc_mcontext.gregs[REG_RAX];
  }
}

long call(long n, long a, long b, long c) {
  switch (n) {
    case NR_io_setup: return setup(a, (uint64_t)b);
    case NR_io_destroy: return destroy((uint64_t)a);
    case NR_io_submit: return submit((uint64_t)a, b, (uint64_t)c);
    default: return cancel((uint64_t)a, (uint64_t)b, (uint64_t)c);
  }
}

// Before the checkpoint signals thread tid: is it asleep inside io_submit? The kernel does some
// requests synchronously there (a read or write of a pipe, socket or terminal) and fails such a
// request with EINTR when any signal interrupts its wait — the program would see that completion.
// An uninterruptible wait (disk I/O, state D) is not cut short: the thread parks when the call
// returns. Waits up to a second for the thread to leave the call; true: it is still there.
bool submit_asleep(int32_t tid) {
  char path[64], buf[256];
  for (int tries = 0; tries < 100; tries++) {
    sys::Out(path, sizeof path).s("/proc/self/task/").i(tid).s("/syscall");
    size_t n = sys::read_file(path, buf, sizeof buf - 1);
    buf[n] = 0;
    const char* q = buf;
    if (!n || sys::parse_u(&q, 10) != (uint64_t)NR_io_submit || *q != ' ') return false;
    sys::Out(path, sizeof path).s("/proc/self/task/").i(tid).s("/stat");
    n = sys::read_file(path, buf, sizeof buf - 1);
    buf[n] = 0;
    const char* p = buf + n;
    while (p > buf && *p != ')') p--;  // the name may hold spaces and parentheses: the last ')'
    if (p == buf || p[1] != ' ' || p[2] != 'S') return false;
    sys::ktimespec ts{0, 10000000};
    sys::nanosleep(&ts, nullptr);
  }
  return true;
}

// After a restart: the requests cancelled before the checkpoint whose completion had not come
// are gone with the old kernel context (their completion never comes now).
void restarted() {
  for (uint32_t i = 0; i < kCtxs; i++) {
    Ctx* x = &g_ctx[i];
    if (!x->id) continue;
    for (uint32_t k = 0; k < x->n;)
      if (x->e[k].state == E_CANCELLED) erase(x, k);
      else k++;
  }
}
}  // namespace aio

// The requests in flight (every thread parked): amber_process_ext.aio_reqs.
long aio_capture(Capture& c) {
  c.ext->aio_reqs = amber_str{0, 0};
  using namespace aio;
  if (g_lost) return c.fail(-ENOSPC, "more AIO contexts or io_submit calls at once than the agent follows (64 contexts, 128 calls): requests in flight cannot be named");
  for (uint32_t i = 0; i < kOps; i++)  // calls answered, not yet taken in by their thread
    if (g_ops[i].kind != OP_FREE && g_ops[i].result != kUnknown) settle(&g_ops[i]);
  uint32_t at = c.str.len, n = 0;
  for (uint32_t i = 0; i < kCtxs; i++) {
    Ctx* x = &g_ctx[i];
    if (!x->id) continue;
    if (!aio_ring_ours(x->id)) {  // destroyed behind our back (a raw io_destroy): nothing in flight
      drop(x);
      continue;
    }
    if (x->overflow) return c.fail(-ENOSPC, "an AIO context had more requests noted than the agent's table holds");
    // A cancelled request's completion is queued by the kernel (a work item): wait for it, boundedly.
    for (int tries = 0;; tries++) {
      sweep(x);
      bool waiting = false;
      for (uint32_t k = 0; k < x->n; k++) waiting |= x->e[k].state == E_CANCELLED;
      if (!waiting) break;
      if (tries == 1000) return c.fail(-EBUSY, "an AIO request cancelled with io_cancel did not complete within 1 s");
      sys::ktimespec ts{0, 1000000};
      sys::nanosleep(&ts, nullptr);
    }
    for (uint32_t k = 0; k < x->n; k++) {
      const Ent& e = x->e[k];
      // Not yet submitted (TENT: its thread makes the call when it runs again) or cancelled: left out.
      if (e.state != E_LIVE && e.state != E_CANCELLING) continue;
      Iocb cb = iocb_of(e);
      if (const char* why = unsafe(cb, c.tmp, 512)) return c.fail(-EOPNOTSUPP, why);
      amber_aio_req rec{};
      rec.ctx = x->id;
      rec.iocb = e.addr;
      rec.seen_tail = x->seen;
      __builtin_memcpy(rec.cb, &cb, sizeof rec.cb);
      c.str.append(&rec, sizeof rec);
      n++;
    }
  }
  if (n) c.ext->aio_reqs = amber_str{at, (uint32_t)(n * sizeof(amber_aio_req))};
  return 0;
}
}  // namespace amber

// libaio's entry points (libaio.so.1 makes them as inline system calls, so its callers would pass
// by syscall(2)): the same calls, with libaio's convention — the kernel's answer, a negative errno
// on failure, errno untouched. A program that defines these names itself keeps its own.
extern "C" {
__attribute__((visibility("default"))) int io_setup(int maxevents, uint64_t* ctxp) {
  return (int)amber::aio::call(NR_io_setup, maxevents, (long)ctxp, 0);
}
__attribute__((visibility("default"))) int io_destroy(uint64_t ctx) { return (int)amber::aio::call(NR_io_destroy, (long)ctx, 0, 0); }
__attribute__((visibility("default"))) int io_submit(uint64_t ctx, long nr, void** iocbs) {
  return (int)amber::aio::call(NR_io_submit, (long)ctx, nr, (long)iocbs);
}
__attribute__((visibility("default"))) int io_cancel(uint64_t ctx, void* iocb, void* evt) {
  return (int)amber::aio::call(NR_io_cancel, (long)ctx, (long)iocb, (long)evt);
}
}
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
// n requests that complete at once (a read of no bytes from /dev/null), then, with reap, their
// n events taken off again: the kernel's tail (and, reaped, the head) moves by n.
void advance(uint64_t ctx, int null_fd, uint32_t n, bool reap) {
  constexpr uint32_t kBatch = 32;
  Iocb cb[kBatch];
  Iocb* list[kBatch];
  Event ev[kBatch];
  char byte = 0;
  for (uint32_t k = 0; k < kBatch; k++) {
    cb[k] = Iocb{};
    cb[k].opcode = 0 /*IOCB_CMD_PREAD*/;
    cb[k].fildes = (uint32_t)null_fd;
    cb[k].buf = (uint64_t)&byte;
    list[k] = &cb[k];
  }
  while (n) {
    uint32_t b = n < kBatch ? n : kBatch;
    long e = sys::sc3(NR_io_submit, (long)ctx, b, (long)list);
    if (e != (long)b) die(EXIT_SYSTEM, "cannot bring an AIO context's ring back to its place (io_submit)", nullptr, e < 0 ? e : -5);
    if (reap) {
      e = sys::sc5(NR_io_getevents, (long)ctx, b, b, (long)ev, 0);
      if (e != (long)b) die(EXIT_SYSTEM, "cannot bring an AIO context's ring back to its place (io_getevents)", nullptr, e < 0 ? e : -5);
    }
    n -= b;
  }
}
}  // namespace

void aio_adopt(const amber_region& r) {
  uint64_t len = r.end - r.start;
  uint64_t pages = len / AMBER_PAGE_SIZE;
  const Ring* saved = reinterpret_cast<const Ring*>(r.start);
  // The ring the kernel makes for `pages` pages holds this many events (header: one event's size).
  uint32_t nr = (uint32_t)(pages * (AMBER_PAGE_SIZE / sizeof(Event)) - 1);
  char where[64];
  sys::Out(where, sizeof where).x(r.start);
  if (!pages || saved->nr != nr || saved->head >= nr || saved->tail >= nr)
    die(EXIT_IMAGE, "an AIO context's ring in the image is not one the kernel made, at", where);
  uint64_t ctx = 0;
  long e = sys::sc2(NR_io_setup, pages > 1 ? (long)((pages - 1) * (AMBER_PAGE_SIZE / sizeof(Event)) / 2) : 1, (long)&ctx);
  if (e < 0) die(EXIT_SYSTEM, "cannot make an AIO context again (io_setup; fs.aio-max-nr reached?), at", where, e);
  const Ring* fresh = reinterpret_cast<const Ring*>(ctx);
  if (fresh->nr != nr)
    die(EXIT_HOST, "an AIO context's ring would have another size here (the kernel sizes it by the number of possible CPUs), at", where);
  long null_fd = sys::open("/dev/null", sys::O_RDONLY_ | sys::O_CLOEXEC_);
  if (null_fd < 0) die(EXIT_SYSTEM, "cannot open /dev/null", nullptr, null_fd);
  uint32_t head = saved->head, tail = saved->tail;
  uint32_t pending = (tail + nr - head) % nr;
  advance(ctx, (int)null_fd, head, true);
  advance(ctx, (int)null_fd, pending, false);
  sys::close((int)null_fd);
  // The events the program had not reaped, in their slots; the rest of the ring as it was too.
  Event* to = reinterpret_cast<Event*>(ctx + sizeof(Ring));
  const Event* from = reinterpret_cast<const Event*>(r.start + sizeof(Ring));
  for (uint32_t i = 0; i < nr; i++) to[i] = from[i];
  if (reinterpret_cast<volatile const Ring*>(ctx)->tail != tail || reinterpret_cast<volatile const Ring*>(ctx)->head != head)
    die(EXIT_SYSTEM, "an AIO context's ring did not come back to its saved head and tail, at", where);
  sys::munmap((void*)r.start, len);
  long a = sys::mremap((void*)ctx, len, len, 1 /*MREMAP_MAYMOVE*/ | 2 /*MREMAP_FIXED*/, (void*)r.start);
  if (a != (long)r.start) die(EXIT_SYSTEM, "cannot move an AIO context's ring to its saved address", where, a < 0 ? a : -17);
  if (r.prot != (sys::PROT_R_ | sys::PROT_W_)) sys::mprotect((void*)r.start, len, (int)r.prot);
}

// Stage 3, once the descriptors are back and before any thread runs: the requests in flight at the
// checkpoint (amber_process_ext.aio_reqs, in submission order) submitted again on their rebuilt
// contexts. One whose completion reached the ring while the image was being written (an event for
// its iocb between the tail the agent swept up to and the saved tail) is complete: the restored
// ring holds its event. Each is submitted from its original address (the event's obj) with the copy
// the agent took at submission, the program's own bytes there put back afterwards (the kernel only
// wrote aio_key, which it had written there the first time as well).
void aio_resubmit() {
  const char* d;
  uint32_t len;
  if (!S.v.pext->aio_reqs.len || !amber_str_at(&S.v, S.v.pext->aio_reqs, &d, &len)) return;
  const uint32_t n = len / (uint32_t)sizeof(amber_aio_req);
  auto rec = [&](uint32_t i) {
    amber_aio_req q;
    memcpy(&q, d + (uint64_t)i * sizeof q, sizeof q);
    return q;
  };
  for (uint32_t i = 0; i < n; i++) {
    const amber_aio_req q = rec(i);
    char where[64];
    sys::Out(where, sizeof where).x(q.iocb);
    const amber_region* ring = nullptr;
    const amber_region* mem = nullptr;
    for (uint32_t k = 0; k < S.v.nregions; k++) {
      const amber_region& r = S.v.regions[k];
      if (r.start == q.ctx && (r.flags & AMBER_REG_AIO)) ring = &r;
      if (r.start <= q.iocb && q.iocb + sizeof q.cb <= r.end) mem = &r;
    }
    if (!ring) die(EXIT_IMAGE, "an AIO request in flight in the image names no AIO context, iocb at", where);
    const Ring* h = reinterpret_cast<const Ring*>(q.ctx);
    if (q.seen_tail >= h->nr) die(EXIT_IMAGE, "an AIO request in flight in the image is not one the agent saw, iocb at", where);
    // Completed while the image was written? The k-th event of this address answers the k-th
    // request noted with it.
    uint32_t before = 0, events = 0;
    for (uint32_t j = 0; j < i; j++) {
      amber_aio_req o = rec(j);
      before += o.ctx == q.ctx && o.iocb == q.iocb;
    }
    const Event* ev = reinterpret_cast<const Event*>(q.ctx + sizeof(Ring));
    for (uint32_t s = q.seen_tail; s != h->tail % h->nr; s = (s + 1) % h->nr) events += ev[s].obj == q.iocb;
    if (events > before) continue;
    // The kernel writes aio_key in the iocb it takes: the memory must be writable, as it was then.
    if (!mem || !(mem->prot & sys::PROT_W_))
      die(EXIT_IMAGE, "an AIO request in flight has its iocb in memory that is not writable now, at", where);
    uint8_t* at = reinterpret_cast<uint8_t*>(q.iocb);
    uint8_t program[sizeof q.cb];
    memcpy(program, at, sizeof program);
    memcpy(at, q.cb, sizeof q.cb);
    uint64_t list[1] = {q.iocb};
    long e = sys::sc3(NR_io_submit, (long)q.ctx, 1, (long)list);
    memcpy(at, program, sizeof program);
    if (e != 1) die(EXIT_SYSTEM, "cannot submit again an AIO request in flight at the checkpoint (io_submit), iocb at", where, e < 0 ? e : -5);
  }
}
}  // namespace rs
#endif
