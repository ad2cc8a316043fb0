/* A Linux AIO context (io_setup; libaio and databases keep one for their life): its id is the
 * address of a ring the kernel mapped in the process. After restart the same id works:
 * io_submit of a read of a file and io_getevents on it complete with the file's bytes, and the
 * ring's header at that address still says it is a ring. */
#include "corpus.h"
#include <linux/aio_abi.h>
#include <sys/syscall.h>

int main(void) {
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, 8, &ctx) < 0) skip("io_setup: %s", strerror(errno));
  int f = SYS(open("aio.dat", O_CREAT | O_RDWR | O_TRUNC, 0600));
  write_all(f, "hello aio", 9);
  unlink("aio.dat");

  ready_wait();

  char buf[16] = {0};
  struct iocb cb = {0};
  cb.aio_fildes = (uint32_t)f;
  cb.aio_lio_opcode = IOCB_CMD_PREAD;
  cb.aio_buf = (uint64_t)(uintptr_t)buf;
  cb.aio_nbytes = 9;
  cb.aio_offset = 0;
  cb.aio_data = 42;
  struct iocb* list[1] = {&cb};
  long r = syscall(SYS_io_submit, ctx, 1, list);
  CHECK(r == 1, "io_submit on the saved context: %ld (%s)", r, strerror(errno));
  struct io_event ev[1];
  struct timespec ts = {5, 0};
  r = syscall(SYS_io_getevents, ctx, 1, 1, ev, &ts);
  CHECK(r == 1 && ev[0].data == 42 && ev[0].res == 9 && !memcmp(buf, "hello aio", 9), "io_getevents: %ld (%s), res %lld",
        r, strerror(errno), r == 1 ? (long long)ev[0].res : -1LL);
  CHECK(syscall(SYS_io_destroy, ctx) == 0, "io_destroy: %s", strerror(errno));
  pass();
}
