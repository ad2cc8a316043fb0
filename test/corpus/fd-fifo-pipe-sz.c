/* A FIFO (opened by path, both ends here) resized with F_SETPIPE_SZ to 128 KiB and holding 100 KiB
 * (more than the default 64 KiB capacity): after restart F_GETPIPE_SZ on both ends is 128 KiB,
 * the 100 KiB come back in order, once, and 28 KiB more fit without blocking; it is still the FIFO
 * at the path. */
#include "corpus.h"

#define SZ (128 * 1024)
#define IN (100 * 1024)

int main(void) {
  SYS(mkfifo("sz.fifo", 0600));
  int r = SYS(open("sz.fifo", O_RDONLY | O_NONBLOCK));
  int w = SYS(open("sz.fifo", O_WRONLY | O_NONBLOCK));
  int got = SYS(fcntl(w, F_SETPIPE_SZ, SZ));
  if (got != SZ) skip("F_SETPIPE_SZ gave %d", got);
  static char b[IN];
  fill_pattern(b, sizeof b, 302);
  write_all(w, b, sizeof b);

  ready_wait();

  CHECK(fcntl(r, F_GETPIPE_SZ) == SZ, "F_GETPIPE_SZ (reader) %d, want %d", fcntl(r, F_GETPIPE_SZ), SZ);
  CHECK(fcntl(w, F_GETPIPE_SZ) == SZ, "F_GETPIPE_SZ (writer) %d, want %d", fcntl(w, F_GETPIPE_SZ), SZ);
  static char more[SZ - IN];
  ssize_t n = write(w, more, sizeof more);
  CHECK(n == (ssize_t)sizeof more, "writing %zu more bytes (the capacity's rest): %zd (%s)", sizeof more, n,
        n < 0 ? strerror(errno) : "short");
  static char rb[IN];
  read_exact(r, rb, sizeof rb, "bytes in flight");
  int at = check_pattern(rb, sizeof rb, 302);
  CHECK(at < 0, "bytes in flight differ at %d", at);
  static char rm[SZ - IN];
  read_exact(r, rm, sizeof rm, "the bytes written after");
  expect_empty(r, "after everything");
  int w2 = open("sz.fifo", O_WRONLY | O_NONBLOCK);
  CHECK(w2 >= 0, "opening the path for writing: %s", strerror(errno));
  write_all(w2, "x", 1);
  char c;
  read_exact(r, &c, 1, "a write through the path");
  pass();
}
