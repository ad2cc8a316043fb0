/* A pipe whose read end is O_NONBLOCK (and write end blocking), 10 bytes in flight: after restart
 * the read end is still non-blocking (F_GETFL; an empty read gives EAGAIN instead of hanging), the
 * write end is still blocking, and the 10 bytes are there once. */
#include "corpus.h"

int main(void) {
  int p[2];
  SYS(pipe(p));
  SYS(fcntl(p[0], F_SETFL, O_NONBLOCK));
  write_all(p[1], "0123456789", 10);
  int rfl = fcntl(p[0], F_GETFL), wfl = fcntl(p[1], F_GETFL);

  ready_wait();

  CHECK(fcntl(p[0], F_GETFL) == rfl, "read end flags %#x, want %#x", fcntl(p[0], F_GETFL), rfl);
  CHECK(fcntl(p[1], F_GETFL) == wfl, "write end flags %#x, want %#x", fcntl(p[1], F_GETFL), wfl);
  CHECK(!(fcntl(p[1], F_GETFL) & O_NONBLOCK), "write end became non-blocking");
  char b[32];
  ssize_t n = read(p[0], b, sizeof b);
  CHECK(n == 10 && !memcmp(b, "0123456789", 10), "in-flight bytes: read %zd", n);
  n = read(p[0], b, sizeof b);
  CHECK(n < 0 && errno == EAGAIN, "empty non-blocking read: %zd (%s), want EAGAIN", n, n < 0 ? strerror(errno) : "data");
  pass();
}
