/* clock_nanosleep(CLOCK_BOOTTIME, relative 2 s) in a loop until the go line arrives (read by a
 * thread): whichever sleep the checkpoint interrupts, every call must return 0 (no EINTR, which
 * clock_nanosleep returns as its value) and never before its 2 s of boot time have passed. */
#include "corpus.h"

static double now_boot(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void) {
  ready();
  line_thread(NULL);
  int calls = 0;
  while (!__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST)) {
    struct timespec req = {2, 0}, rem = {0, 0};
    double t0 = now_boot();
    int r = clock_nanosleep(CLOCK_BOOTTIME, 0, &req, &rem);
    double dt = now_boot() - t0;
    calls++;
    CHECK(r == 0, "clock_nanosleep call %d: %s after %.3f s (%ld.%09ld left)", calls, strerror(r), dt, (long)rem.tv_sec, rem.tv_nsec);
    CHECK(dt >= 2.0, "clock_nanosleep call %d returned after %.3f s of boot time, before its 2 s", calls, dt);
  }
  pass();
}
