/* A periodic timerfd (CLOCK_MONOTONIC, first expiry 30 ms, then every 50 ms), left running: after
 * restart timerfd_gettime still reports a 50 ms interval and a pending expiry, the counter has
 * counted (read returns at least 1), and it keeps ticking: 4 more expirations take >= 150 ms. */
#include "corpus.h"
#include <sys/timerfd.h>

int main(void) {
  int fd = SYS(timerfd_create(CLOCK_MONOTONIC, 0));
  struct itimerspec its = {.it_interval = {0, 50000000}, .it_value = {0, 30000000}};
  SYS(timerfd_settime(fd, 0, &its, NULL));
  uint64_t n;
  read_exact(fd, &n, 8, "first expiry");

  ready_wait();

  struct itimerspec cur;
  SYS(timerfd_gettime(fd, &cur));
  CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 50000000, "interval %ld.%09ld, want 0.05",
        (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
  CHECK(cur.it_value.tv_sec || cur.it_value.tv_nsec, "the timer is disarmed");
  n = 0;
  CHECK(read(fd, &n, 8) == 8, "read: %s", strerror(errno));
  CHECK(n >= 1, "expirations %llu", (unsigned long long)n);
  double t0 = now_mono();
  uint64_t total = 0;
  while (total < 4) {
    CHECK(read(fd, &n, 8) == 8, "read while ticking: %s", strerror(errno));
    total += n;
  }
  double dt = now_mono() - t0;
  CHECK(dt >= 0.14, "4 expirations of a 50 ms timer took %.3f s", dt);
  pass();
}
