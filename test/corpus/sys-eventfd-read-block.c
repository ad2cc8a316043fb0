/* read() on an eventfd whose counter is 0, blocked across the checkpoint; only the go line (read by
 * a thread, which then adds 5) may end it. read must return 8 bytes holding 5 (never EINTR), and the
 * counter is 0 after. */
#include "corpus.h"
#include <sys/eventfd.h>

static int efd;
static void add5(void) {
  uint64_t v = 5;
  if (write(efd, &v, 8) != 8) fail("eventfd write: %s", strerror(errno));
}

int main(void) {
  efd = SYS(eventfd(0, 0));
  ready();
  line_thread(add5);
  uint64_t v = 0;
  ssize_t n = read(efd, &v, 8);
  CHECK(n >= 0, "read(eventfd): %s", strerror(errno));
  CHECK(line_seen, "read(eventfd) returned before the go line");
  CHECK(n == 8 && v == 5, "read(eventfd) = %zd value %llu", n, (unsigned long long)v);
  SYS(fcntl(efd, F_SETFL, O_NONBLOCK));
  CHECK(read(efd, &v, 8) < 0 && errno == EAGAIN, "the counter is not 0 after the read");
  pass();
}
