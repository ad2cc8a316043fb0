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
// again. Limit: a request still in flight at the checkpoint (submitted, not completed: an
// IOCB_CMD_POLL on a descriptor that never became ready) is not submitted again; its completion
// never comes. A ring the machine would make in another size (the kernel rounds up to four events
// per possible CPU) is refused by name.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"
#include "sys/sys.h"

namespace {
constexpr long NR_io_setup = 206, NR_io_getevents = 208, NR_io_submit = 209;
}  // namespace

#ifdef AMBER_AGENT
namespace amber {
bool aio_ring_ours(uint64_t start) {
  struct { long s, ns; } zero{0, 0};
  return sys::sc5(NR_io_getevents, (long)start, 0, 0, 0, (long)&zero) == 0;
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
namespace {
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
}  // namespace rs
#endif
