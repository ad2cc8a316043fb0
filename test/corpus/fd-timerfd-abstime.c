/* timerfds whose deadline is absolute or already counting: a CLOCK_REALTIME timerfd armed
 * TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET 100 s ahead with a 3 s interval, and a CLOCK_BOOTTIME
 * one-shot armed relative, 100 s. After restart timerfd_gettime of each has the same interval and
 * no more left than the deadline less the real time passed (the deadline stands through the
 * restart; it is not re-armed from the restart), neither has fired, and the fdinfo "settime
 * flags" of the first still says ABSTIME|CANCEL_ON_SET. */
#include "corpus.h"
#include <sys/timerfd.h>

static double left_of(int fd, struct itimerspec* it) {
  SYS(timerfd_gettime(fd, it));
  return (double)it->it_value.tv_sec + (double)it->it_value.tv_nsec / 1e9;
}

int main(void) {
  int a = SYS(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK));
  int b = SYS(timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK));
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  double t0 = now_mono();
  struct itimerspec ia = {{3, 0}, {now.tv_sec + 100, now.tv_nsec}}, ib = {{0, 0}, {100, 0}};
  SYS(timerfd_settime(a, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &ia, NULL));
  SYS(timerfd_settime(b, 0, &ib, NULL));

  ready_wait();

  double el = now_mono() - t0;
  struct itimerspec ca, cb;
  double la = left_of(a, &ca), lb = left_of(b, &cb);
  CHECK(ca.it_interval.tv_sec == 3 && ca.it_interval.tv_nsec == 0, "realtime timerfd interval %ld.%09ld, want 3", (long)ca.it_interval.tv_sec,
        ca.it_interval.tv_nsec);
  CHECK(la > 0 && lb > 0, "a timerfd is disarmed (%.3f / %.3f s left)", la, lb);
  CHECK(la <= 100.0 - el + 0.05, "the absolute realtime timerfd has %.3f s left after %.3f s of 100 s", la, el);
  CHECK(lb <= 100.0 - el + 0.05, "the relative boottime timerfd has %.3f s left after %.3f s of 100 s", lb, el);
  CHECK(la >= 100.0 - el - 2 && lb >= 100.0 - el - 2, "a timerfd has too little left (%.3f / %.3f s after %.3f s)", la, lb, el);
  uint64_t n;
  CHECK(read(a, &n, 8) == -1 && errno == EAGAIN, "the realtime timerfd fired");
  CHECK(read(b, &n, 8) == -1 && errno == EAGAIN, "the boottime timerfd fired");
  char path[64], info[512] = {0};
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", a);
  int f = SYS(open(path, O_RDONLY));
  ssize_t r = read(f, info, sizeof info - 1);
  close(f);
  CHECK(r > 0, "reading %s", path);
  char* fl = strstr(info, "settime flags:");
  CHECK(fl, "no settime flags in fdinfo");
  unsigned v = 0;
  sscanf(fl + 14, "%o", &v);
  CHECK(v == 3, "settime flags %o, want 03 (ABSTIME|CANCEL_ON_SET)", v);
  pass();
}
