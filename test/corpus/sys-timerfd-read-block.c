/* read() on a timerfd armed 60 s away (CLOCK_MONOTONIC), blocked across the checkpoint; only the go
 * line (read by a thread, which then re-arms it for 1 ms) may make it expire. read must return 8
 * bytes with 1 expiration (never EINTR, and never an early expiry of the 60 s timer). */
#include "corpus.h"
#include <sys/timerfd.h>

static int tfd;
static void rearm(void) {
  struct itimerspec its = {{0, 0}, {0, 1000000}};
  if (timerfd_settime(tfd, 0, &its, NULL)) fail("timerfd_settime: %s", strerror(errno));
}

int main(void) {
  tfd = SYS(timerfd_create(CLOCK_MONOTONIC, 0));
  struct itimerspec its = {{0, 0}, {60, 0}};
  SYS(timerfd_settime(tfd, 0, &its, NULL));
  ready();
  line_thread(rearm);
  uint64_t v = 0;
  ssize_t n = read(tfd, &v, 8);
  CHECK(n >= 0, "read(timerfd): %s", strerror(errno));
  CHECK(line_seen, "read(timerfd) returned %llu expirations before the go line re-armed it", (unsigned long long)v);
  CHECK(n == 8 && v == 1, "read(timerfd) = %zd, %llu expirations", n, (unsigned long long)v);
  struct itimerspec cur;
  SYS(timerfd_gettime(tfd, &cur));
  CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "the one-shot timer is still armed");
  pass();
}
