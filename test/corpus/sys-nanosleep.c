/* nanosleep(2 s) in a loop until the go line arrives (read by a thread): whichever sleep the
 * checkpoint interrupts, every call must return 0 (no EINTR) and never before its 2 s have
 * passed. */
#include "corpus.h"

int main(void) {
  ready();
  line_thread(NULL);
  int calls = 0;
  while (!__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST)) {
    struct timespec req = {2, 0}, rem = {0, 0};
    double t0 = now_mono();
    int r = nanosleep(&req, &rem);
    double dt = now_mono() - t0;
    calls++;
    CHECK(r == 0, "nanosleep call %d: %s after %.3f s (%ld.%09ld left)", calls, strerror(errno), dt, (long)rem.tv_sec, rem.tv_nsec);
    CHECK(dt >= 2.0, "nanosleep call %d returned after %.3f s, before its 2 s", calls, dt);
  }
  pass();
}
