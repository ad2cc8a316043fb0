/* A thread blocked in sendfile() of a 1 MiB file into a Unix stream socket nobody reads until the
 * go line (a small send buffer: the kernel moves it in pieces, so the checkpoint's signal finds
 * part of it sent). sendfile must return the whole 1 MiB (never EINTR, never short), the file's
 * offset (passed by pointer) must end at 1 MiB, and the reader gets the file's bytes in order. */
#include "corpus.h"
#include <sys/sendfile.h>
#include <sys/socket.h>

#define BIG (1 << 20)
static int sv[2], in;
static off_t off;
static volatile ssize_t sent = -2;
static volatile int serr;
static void* sender(void* u) {
  (void)u;
  sent = sendfile(sv[0], in, &off, BIG);
  serr = errno;
  return NULL;
}

int main(void) {
  char path[] = "/tmp/amber-sendfile-XXXXXX";
  in = SYS(mkstemp(path));
  char* buf = malloc(BIG);
  fill_pattern(buf, BIG, 31337);
  write_all(in, buf, BIG);
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  int sz = 4096;
  SYS(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz));
  pthread_t t;
  if (pthread_create(&t, NULL, sender, NULL)) fail("pthread_create");
  usleep(50000);
  unlink(path); /* kept open: a deleted file amber brings back with its bytes */

  ready_wait();

  CHECK(sent == -2, "sendfile returned %zd (%s) before anything was read", sent, strerror(serr));
  char* got = malloc(BIG);
  read_exact(sv[1], got, BIG, "the file's bytes");
  pthread_join(t, NULL);
  CHECK(sent == BIG, "sendfile returned %zd (%s), want %d", sent, sent < 0 ? strerror(serr) : "short", BIG);
  CHECK(off == BIG, "the offset sendfile advanced is %lld, want %d", (long long)off, BIG);
  int at = check_pattern(got, BIG, 31337);
  CHECK(at < 0, "the bytes differ from offset %d", at);
  expect_empty(sv[1], "socket");
  pass();
}
