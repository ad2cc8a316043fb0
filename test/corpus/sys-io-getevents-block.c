/* io_getevents(min 1, no timeout) blocked across the checkpoint on a Linux AIO context with one
 * IOCB_CMD_POLL (POLLIN) submitted on an empty pipe (kernel >= 4.18); only the go line (read by a
 * thread, which then writes to the pipe) may complete it. io_getevents must return that one event
 * (its data word and POLLIN), never EINTR. */
#include "corpus.h"
#include <linux/aio_abi.h>
#include <poll.h>
#include <sys/syscall.h>

static int p[2];
static void feed(void) {
  if (write(p[1], "x", 1) != 1) fail("write: %s", strerror(errno));
}

int main(void) {
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, 4, &ctx) < 0) skip("io_setup: %s", strerror(errno));
  SYS(pipe(p));
  struct iocb cb;
  memset(&cb, 0, sizeof cb);
  cb.aio_lio_opcode = IOCB_CMD_POLL;
  cb.aio_fildes = (uint32_t)p[0];
  cb.aio_buf = POLLIN;
  cb.aio_data = 0xabcdef;
  struct iocb* cbs[1] = {&cb};
  if (syscall(SYS_io_submit, ctx, 1, cbs) != 1) skip("io_submit IOCB_CMD_POLL: %s", strerror(errno));
  ready();
  line_thread(feed);
  struct io_event ev[2];
  memset(ev, 0, sizeof ev);
  long n = syscall(SYS_io_getevents, ctx, 1, 2, ev, NULL);
  CHECK(n >= 0, "io_getevents: %s", strerror(errno));
  CHECK(line_seen, "io_getevents returned %ld before the go line", n);
  CHECK(n == 1 && ev[0].data == 0xabcdef && (ev[0].res & POLLIN), "io_getevents: %ld events, data %#llx res %lld", n,
        (unsigned long long)ev[0].data, (long long)ev[0].res);
  syscall(SYS_io_destroy, ctx);
  pass();
}
