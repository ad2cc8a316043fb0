/* A thread blocked in writev() of 4 iovecs (1 MiB, far more than the pipe holds) on a pipe nobody
 * reads until the go line: a pipe write larger than PIPE_BUF moves in pieces, so the checkpoint's
 * signal finds part of it written. After the go line the main thread reads everything: writev must
 * return the whole 1 MiB (never EINTR, never short) and the bytes come out in order, once. */
#include "corpus.h"
#include <sys/uio.h>

#define BIG (1 << 20)
static int p[2];
static char* buf;
static volatile ssize_t wrote = -2;
static volatile int werr;
static void* writer(void* u) {
  (void)u;
  struct iovec iov[4] = {{buf, 10}, {buf + 10, 300000}, {buf + 300010, 5}, {buf + 300015, BIG - 300015}};
  wrote = writev(p[1], iov, 4);
  werr = errno;
  return NULL;
}

int main(void) {
  SYS(pipe(p));
  buf = malloc(BIG);
  fill_pattern(buf, BIG, 4242);
  pthread_t t;
  if (pthread_create(&t, NULL, writer, NULL)) fail("pthread_create");
  usleep(50000);

  ready_wait();

  CHECK(wrote == -2, "writev returned %zd (%s) before anything was read", wrote, strerror(werr));
  char* got = malloc(BIG);
  read_exact(p[0], got, BIG, "the writev's bytes");
  pthread_join(t, NULL);
  CHECK(wrote == BIG, "writev returned %zd (%s), want %d", wrote, wrote < 0 ? strerror(werr) : "short", BIG);
  int at = check_pattern(got, BIG, 4242);
  CHECK(at < 0, "the bytes differ from offset %d", at);
  expect_empty(p[0], "pipe");
  pass();
}
