/* A thread blocked in write() of 1 MiB on a TCP connection whose receiver (a forked child) reads
 * nothing until the go line (on the stdin it inherited), then reads everything and reports a
 * checksum. write must return the full 1 MiB (never EINTR, never short) and the child must receive
 * every byte in order, once. */
#include "net.h"

#define BIG (1 << 20)
static int c;
static char* buf;
static volatile ssize_t wrote = -2;
static volatile int werr;
static void* writer(void* u) {
  (void)u;
  wrote = write(c, buf, BIG);
  werr = errno;
  shutdown(c, SHUT_WR);
  return NULL;
}

int main(void) {
  int l = tcp_listener(1);
  int rep[2];
  SYS(pipe(rep));
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int s = accept(l, NULL, NULL);
    if (s < 0) _exit(2);
    read_line();
    char* got = malloc(BIG + 1);
    size_t n = 0;
    for (;;) {
      ssize_t r = read(s, got + n, BIG + 1 - n);
      if (r < 0) _exit(3);
      if (r == 0) break;
      n += (size_t)r;
      if (n > BIG) break;
    }
    char out = (n == BIG && check_pattern(got, BIG, 123) < 0) ? 'y' : 'n';
    if (write(rep[1], &out, 1) != 1) _exit(4);
    _exit(0);
  }
  peer(kid);
  c = tcp_connect(port_of(l));
  int sz = 16384;
  SYS(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz));
  buf = malloc(BIG);
  fill_pattern(buf, BIG, 123);
  pthread_t t;
  if (pthread_create(&t, NULL, writer, NULL)) fail("pthread_create");
  char r;
  ssize_t n = read(rep[0], &r, 1);
  CHECK(n == 1, "the receiver's report: %zd (%s)", n, n < 0 ? strerror(errno) : "EOF");
  pthread_join(t, NULL);
  CHECK(wrote == BIG, "write returned %zd (%s), want %d", wrote, wrote < 0 ? strerror(werr) : "short", BIG);
  CHECK(r == 'y', "the receiver did not get the 1 MiB pattern whole and in order");
  pass();
}
