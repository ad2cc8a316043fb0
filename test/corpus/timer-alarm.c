/* alarm(100) pending across the checkpoint (a watchdog): after restart alarm(0) returns what is
 * left — no more than 100 s minus the real time that passed (the deadline stands, as the program
 * measures it on CLOCK_MONOTONIC) and not 0 (not lost); a new alarm(1) still raises SIGALRM. */
#include "corpus.h"

static volatile sig_atomic_t alrm;
static void on_alrm(int s) { (void)s; alrm++; }

int main(void) {
  struct sigaction sa = {.sa_handler = on_alrm};
  SYS(sigaction(SIGALRM, &sa, NULL));
  double t0 = now_mono();
  alarm(100);

  ready_wait();

  unsigned left = alarm(0);
  double el = now_mono() - t0;
  CHECK(left > 0, "the pending alarm is gone (alarm(0) returned 0 after %.1f s)", el);
  /* alarm rounds the remaining time to the nearest second. */
  CHECK((double)left <= 100.0 - el + 1.0, "alarm(0) says %u s left after %.1f s of a 100 s alarm", left, el);
  CHECK(!alrm, "SIGALRM came early");
  alarm(1);
  double s = now_mono();
  while (!alrm && now_mono() - s < 5) usleep(10000);
  CHECK(alrm == 1, "a new alarm(1) did not fire within 5 s");
  CHECK(now_mono() - s >= 0.9, "alarm(1) fired after %.3f s", now_mono() - s);
  pass();
}
