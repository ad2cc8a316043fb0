/* A pipe resized to 256 KiB with 200 KiB in flight (more than the default 64 KiB capacity): after
 * restart F_GETPIPE_SZ is 256 KiB, the 200 KiB come back in order, once, and 56 KiB more fit
 * without blocking. */
#include "corpus.h"

#define SZ (256 * 1024)
#define FILL (200 * 1024)

int main(void) {
  int p[2];
  SYS(pipe(p));
  int sz = fcntl(p[1], F_SETPIPE_SZ, SZ);
  if (sz < 0) skip("F_SETPIPE_SZ 256 KiB refused: %s", strerror(errno));
  static char d[SZ], r[FILL];
  fill_pattern(d, SZ, 31);
  write_all(p[1], d, FILL);

  ready_wait();

  int now = fcntl(p[0], F_GETPIPE_SZ);
  CHECK(now == sz, "F_GETPIPE_SZ %d, want %d", now, sz);
  read_exact(p[0], r, FILL, "in-flight bytes");
  int at = check_pattern(r, FILL, 31);
  CHECK(at < 0, "in-flight bytes differ at offset %d", at);
  expect_empty(p[0], "pipe");
  SYS(fcntl(p[1], F_SETFL, O_NONBLOCK));
  ssize_t w = write(p[1], d, SZ - 4096);
  CHECK(w == SZ - 4096, "writing %d bytes to the empty pipe: %zd (%s): capacity shrank", SZ - 4096, w, w < 0 ? strerror(errno) : "short");
  pass();
}
