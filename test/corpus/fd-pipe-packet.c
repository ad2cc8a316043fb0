/* A packet-mode pipe (pipe2 O_DIRECT: each write is one packet, a read returns at most one) with
 * three packets in flight (5, 300 and 2000 bytes): after restart O_DIRECT is still set on the
 * write end (the kernel keeps it there only), three reads with a large buffer return exactly the
 * three packets, each whole, and new writes are still packets. */
#include "corpus.h"

int main(void) {
  int p[2];
  if (pipe2(p, O_DIRECT | O_NONBLOCK)) skip("pipe2(O_DIRECT): %s", strerror(errno));
  static char a[5], b[300], c[2000];
  fill_pattern(a, sizeof a, 1);
  fill_pattern(b, sizeof b, 2);
  fill_pattern(c, sizeof c, 3);
  write_all(p[1], a, sizeof a);
  write_all(p[1], b, sizeof b);
  write_all(p[1], c, sizeof c);

  ready_wait();

  CHECK(fcntl(p[1], F_GETFL) & O_DIRECT, "the write end lost O_DIRECT");
  static char buf[8192];
  ssize_t n = read(p[0], buf, sizeof buf);
  CHECK(n == 5 && check_pattern(buf, 5, 1) < 0, "packet 1: %zd bytes, want 5", n);
  n = read(p[0], buf, sizeof buf);
  CHECK(n == 300 && check_pattern(buf, 300, 2) < 0, "packet 2: %zd bytes, want 300", n);
  n = read(p[0], buf, sizeof buf);
  CHECK(n == 2000 && check_pattern(buf, 2000, 3) < 0, "packet 3: %zd bytes, want 2000", n);
  expect_empty(p[0], "packet pipe");
  /* Still packets: two new writes are two reads. */
  write_all(p[1], a, 3);
  write_all(p[1], b, 4);
  CHECK(read(p[0], buf, sizeof buf) == 3 && read(p[0], buf, sizeof buf) == 4, "new writes are not packets");
  pass();
}
