/* POSIX AIO (aio_read, glibc's helper threads) in flight across the checkpoint: an aio_read on an
 * empty pipe that only the go line fills, and aio_suspend waiting for it in the main thread.
 * glibc runs the read in a helper thread of its own that blocks every signal; after the restart
 * the request completes with the byte written, aio_error 0 and aio_return 1, and a setgid (which
 * glibc carries to every thread by SIGSETXID) still works. */
#include "corpus.h"
#include <aio.h>

static int p[2];
static void feed(void) {
  if (write(p[1], "z", 1) != 1) fail("write: %s", strerror(errno));
}

int main(void) {
  SYS(pipe(p));
  static char buf[4];
  struct aiocb cb;
  memset(&cb, 0, sizeof cb);
  cb.aio_fildes = p[0];
  cb.aio_buf = buf;
  cb.aio_nbytes = 1;
  cb.aio_sigevent.sigev_notify = SIGEV_NONE;
  SYS(aio_read(&cb));
  // the helper thread is in its read before the checkpoint comes
  for (int i = 0; i < 200 && aio_error(&cb) == EINPROGRESS; i++) usleep(1000);
  CHECK(aio_error(&cb) == EINPROGRESS, "aio_read finished before anything was written: %d", aio_error(&cb));
  ready();
  line_thread(feed);
  const struct aiocb* list[1] = {&cb};
  int r;
  r = aio_suspend(list, 1, NULL);
  CHECK(r == 0, "aio_suspend: %s", strerror(errno));
  CHECK(line_seen, "the read completed before the go line");
  CHECK(aio_error(&cb) == 0, "aio_error: %d", aio_error(&cb));
  CHECK(aio_return(&cb) == 1 && buf[0] == 'z', "aio_return %zd, byte %c", aio_return(&cb), buf[0]);
  // glibc's setgid tells every thread (SIGSETXID) and waits for each: still answered by all
  CHECK(setgid(getgid()) == 0, "setgid(getgid()): %s", strerror(errno));
  pass();
}
