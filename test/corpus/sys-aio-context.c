/* A Linux AIO context (io_setup; libaio and databases keep one for their life): its id is the
 * address of a ring the kernel mapped in the process. Five reads submitted before the checkpoint,
 * two of their events reaped: after restart the same id works, the three completed events not
 * reaped yet come out (with their data and results), and a new read completes with the file's
 * bytes. */
#include "corpus.h"
#include <linux/aio_abi.h>
#include <sys/syscall.h>

int main(void) {
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, 8, &ctx) < 0) skip("io_setup: %s", strerror(errno));
  int f = SYS(open("aio.dat", O_CREAT | O_RDWR | O_TRUNC, 0600));
  write_all(f, "hello aio", 9);
  unlink("aio.dat");
  static char early[5][16];
  struct iocb ecb[5];
  struct iocb* elist[5];
  for (int i = 0; i < 5; i++) {
    memset(&ecb[i], 0, sizeof ecb[i]);
    ecb[i].aio_fildes = (uint32_t)f;
    ecb[i].aio_lio_opcode = IOCB_CMD_PREAD;
    ecb[i].aio_buf = (uint64_t)(uintptr_t)early[i];
    ecb[i].aio_nbytes = (uint64_t)(i + 1);
    ecb[i].aio_data = (uint64_t)(100 + i);
    elist[i] = &ecb[i];
  }
  CHECK(syscall(SYS_io_submit, ctx, 5, elist) == 5, "io_submit before the checkpoint: %s", strerror(errno));
  struct io_event first[2];
  CHECK(syscall(SYS_io_getevents, ctx, 2, 2, first, NULL) == 2, "io_getevents before the checkpoint: %s", strerror(errno));

  ready_wait();

  struct io_event rest[3];
  struct timespec ts0 = {5, 0};
  long got = syscall(SYS_io_getevents, ctx, 3, 3, rest, &ts0);
  CHECK(got == 3, "the three completed events not reaped before the checkpoint: io_getevents %ld (%s)", got, strerror(errno));
  for (int i = 0; i < 3; i++)
    CHECK(rest[i].data == (uint64_t)(102 + i) && rest[i].res == 3 + i, "event %d: data %llu res %lld, want %d and %d", i,
          (unsigned long long)rest[i].data, (long long)rest[i].res, 102 + i, 3 + i);
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
