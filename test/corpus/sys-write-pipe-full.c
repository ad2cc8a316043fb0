/* A thread blocked in write() of 100 bytes to a full pipe (64 KiB in flight); only the go line
 * (read by the main thread, which then drains the pipe) may make room. The write must return 100
 * (never EINTR, never short), and the reader gets the 64 KiB then the 100 bytes, in order, once. */
#include "corpus.h"

static int p[2];
static volatile ssize_t wrote = -2;
static volatile int werr;
static void* writer(void* u) {
  (void)u;
  char b[100];
  fill_pattern(b, sizeof b, 77);
  wrote = write(p[1], b, sizeof b);
  werr = errno;
  return NULL;
}

int main(void) {
  SYS(pipe(p));
  int cap = fcntl(p[1], F_GETPIPE_SZ);
  char* big = malloc((size_t)cap);
  fill_pattern(big, (size_t)cap, 66);
  SYS(fcntl(p[1], F_SETFL, O_NONBLOCK));
  write_all(p[1], big, (size_t)cap);
  SYS(fcntl(p[1], F_SETFL, 0));
  pthread_t t;
  if (pthread_create(&t, NULL, writer, NULL)) fail("pthread_create");
  usleep(50000);

  ready_wait();

  CHECK(wrote == -2, "the write returned %zd (%s) before the pipe was drained", wrote, strerror(werr));
  char* got = malloc((size_t)cap);
  read_exact(p[0], got, (size_t)cap, "the full pipe");
  CHECK(check_pattern(got, (size_t)cap, 66) < 0, "the pipe's bytes differ");
  pthread_join(t, NULL);
  CHECK(wrote == 100, "write returned %zd (%s), want 100", wrote, wrote < 0 ? strerror(werr) : "short");
  char b[100];
  read_exact(p[0], b, 100, "the blocked write's bytes");
  CHECK(check_pattern(b, 100, 77) < 0, "the blocked write's bytes differ");
  expect_empty(p[0], "pipe");
  pass();
}
