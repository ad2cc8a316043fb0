/* A Linux AIO context reaped the way libaio's user-space path does: events read straight from the
 * ring (head and tail in its header, advanced by the program), never io_getevents; completions
 * signalled through an eventfd (IOCB_FLAG_RESFD). Before the checkpoint 300 polls, one after the
 * other from the same iocb, each completed and taken off the ring (the ring wraps twice): none of
 * them is in flight any more. Then at the checkpoint: a POLL in flight on an empty pipe, and a read
 * of 5 bytes of a file at offset 3 completed, its event not reaped. After the go line a byte in the
 * pipe completes the poll; the program waits on the eventfd and reaps both events from the ring
 * (data, obj, res and the bytes read), then a sentinel read: no other event may come before it
 * (one of the 300 done polls submitted again would complete with the pipe's byte). */
#include "corpus.h"
#include <linux/aio_abi.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

struct ring {
  unsigned id, nr, head, tail, magic, compat, incompat, header_length;
  struct io_event ev[];
};

static aio_context_t ctx;
static int efd;

static void submit(struct iocb* cb) {
  struct iocb* one[1] = {cb};
  long r = syscall(SYS_io_submit, ctx, 1, one);
  CHECK(r == 1, "io_submit (opcode %d): %ld (%s)", cb->aio_lio_opcode, r, strerror(errno));
}

// Takes one event off the ring if there is one (as libaio's user-space reaper).
static int reap(struct io_event* out) {
  struct ring* rg = (struct ring*)ctx;
  unsigned head = __atomic_load_n(&rg->head, __ATOMIC_ACQUIRE), tail = __atomic_load_n(&rg->tail, __ATOMIC_ACQUIRE);
  if (head == tail) return 0;
  *out = rg->ev[head];
  __atomic_store_n(&rg->head, (head + 1) % rg->nr, __ATOMIC_RELEASE);
  return 1;
}

static void wait_one(struct io_event* out) {
  while (!reap(out)) {
    uint64_t v;
    ssize_t n = read(efd, &v, sizeof v);  // blocks until a completion signals it
    CHECK(n == 8, "read of the eventfd: %zd (%s)", n, strerror(errno));
  }
}

int main(void) {
  if (syscall(SYS_io_setup, 16, &ctx) < 0) skip("io_setup: %s", strerror(errno));
  struct ring* rg = (struct ring*)ctx;
  CHECK(rg->magic == 0xa10a10a1, "the context's ring has magic %#x", rg->magic);
  efd = SYS(eventfd(0, 0));
  int p[2];
  SYS(pipe(p));
  int f = SYS(open("aio-ring.dat", O_CREAT | O_RDWR | O_TRUNC, 0600));
  write_all(f, "0123456789", 10);
  unlink("aio-ring.dat");

  static struct iocb pcb;
  for (int round = 0; round < 300; round++) {
    write_all(p[1], "r", 1);
    memset(&pcb, 0, sizeof pcb);
    pcb.aio_lio_opcode = IOCB_CMD_POLL;
    pcb.aio_fildes = (uint32_t)p[0];
    pcb.aio_buf = POLLIN;
    pcb.aio_data = (uint64_t)round;
    submit(&pcb);  // completes at once: the pipe holds a byte
    struct io_event ev;
    CHECK(reap(&ev), "round %d: no event in the ring", round);
    CHECK(ev.data == (uint64_t)round && ev.obj == (uint64_t)(uintptr_t)&pcb, "round %d: event data %llu", round,
          (unsigned long long)ev.data);
    char c;
    read_exact(p[0], &c, 1, "the round's byte");
  }
  // In flight at the checkpoint: a poll on the empty pipe; completed, not reaped: a read of the file.
  memset(&pcb, 0, sizeof pcb);
  pcb.aio_lio_opcode = IOCB_CMD_POLL;
  pcb.aio_fildes = (uint32_t)p[0];
  pcb.aio_buf = POLLIN;
  pcb.aio_data = 1000;
  pcb.aio_flags = IOCB_FLAG_RESFD;
  pcb.aio_resfd = (uint32_t)efd;
  submit(&pcb);
  static char buf[8];
  static struct iocb rcb;
  rcb.aio_lio_opcode = IOCB_CMD_PREAD;
  rcb.aio_fildes = (uint32_t)f;
  rcb.aio_buf = (uint64_t)(uintptr_t)buf;
  rcb.aio_nbytes = 5;
  rcb.aio_offset = 3;
  rcb.aio_data = 1001;
  rcb.aio_flags = IOCB_FLAG_RESFD;
  rcb.aio_resfd = (uint32_t)efd;
  submit(&rcb);

  ready_wait();

  write_all(p[1], "x", 1);
  int got_poll = 0, got_read = 0;
  while (!(got_poll && got_read)) {
    struct io_event ev;
    wait_one(&ev);
    if (ev.data == 1000) {
      CHECK(!got_poll++ && ev.obj == (uint64_t)(uintptr_t)&pcb && (ev.res & POLLIN), "the poll's event: obj %#llx res %lld (seen %d)",
            (unsigned long long)ev.obj, (long long)ev.res, got_poll);
    } else if (ev.data == 1001) {
      CHECK(!got_read++ && ev.obj == (uint64_t)(uintptr_t)&rcb && ev.res == 5 && !memcmp(buf, "34567", 5),
            "the read's event: obj %#llx res %lld buf %.5s (seen %d)", (unsigned long long)ev.obj, (long long)ev.res, buf, got_read);
    } else {
      fail("an event nobody had in flight: data %llu res %lld", (unsigned long long)ev.data, (long long)ev.res);
    }
  }
  static struct iocb scb;
  static char sbuf[4];
  scb.aio_lio_opcode = IOCB_CMD_PREAD;
  scb.aio_fildes = (uint32_t)f;
  scb.aio_buf = (uint64_t)(uintptr_t)sbuf;
  scb.aio_nbytes = 2;
  scb.aio_data = 2000;
  scb.aio_flags = IOCB_FLAG_RESFD;
  scb.aio_resfd = (uint32_t)efd;
  submit(&scb);
  struct io_event ev;
  wait_one(&ev);
  CHECK(ev.data == 2000 && ev.res == 2 && !memcmp(sbuf, "01", 2), "before the sentinel read: data %llu res %lld",
        (unsigned long long)ev.data, (long long)ev.res);
  CHECK(!reap(&ev), "an event after the sentinel: data %llu", (unsigned long long)ev.data);
  CHECK(syscall(SYS_io_destroy, ctx) == 0, "io_destroy: %s", strerror(errno));
  pass();
}
