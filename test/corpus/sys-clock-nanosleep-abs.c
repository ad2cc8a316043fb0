/* clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) to a deadline 1 s ahead, in a loop until the go
 * line (read by a thread), and a second thread doing the same relative on CLOCK_BOOTTIME with a
 * remaining-time argument. Every call must return 0 (no EINTR) and never before its deadline. */
#include "corpus.h"

static volatile int boot_fail;
static char boot_msg[200];
static double boot_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static void* boot_sleeper(void* u) {
  (void)u;
  while (!__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST) && !boot_fail) {
    struct timespec req = {1, 0}, rem = {0, 0};
    double t0 = boot_now();
    int r = clock_nanosleep(CLOCK_BOOTTIME, 0, &req, &rem);
    double dt = boot_now() - t0;
    if (r) {
      snprintf(boot_msg, sizeof boot_msg, "relative CLOCK_BOOTTIME sleep: %s after %.3f s", strerror(r), dt);
      boot_fail = 1;
    } else if (dt < 1.0) {
      snprintf(boot_msg, sizeof boot_msg, "relative CLOCK_BOOTTIME sleep returned after %.3f s of 1 s", dt);
      boot_fail = 1;
    }
  }
  return NULL;
}

int main(void) {
  pthread_t b;
  if (pthread_create(&b, NULL, boot_sleeper, NULL)) fail("pthread_create");
  ready();
  line_thread(NULL);
  int calls = 0;
  while (!__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST)) {
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += 1;
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    calls++;
    CHECK(r == 0, "absolute sleep %d: %s", calls, strerror(r));
    CHECK(now.tv_sec > dl.tv_sec || (now.tv_sec == dl.tv_sec && now.tv_nsec >= dl.tv_nsec), "absolute sleep %d returned before its deadline", calls);
  }
  pthread_join(b, NULL);
  CHECK(!boot_fail, "%s", boot_msg);
  pass();
}
