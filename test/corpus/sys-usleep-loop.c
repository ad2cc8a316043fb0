/* Many short sleeps (usleep 30 ms, nanosleep 20 ms with the remaining time asked) in a loop until
 * the go line (read by a thread): each sleep that spans the checkpoint must not end early (elapsed
 * >= asked), nor with EINTR, and the loop goes on after the restart. */
#include "corpus.h"

int main(void) {
  ready();
  line_thread(NULL);
  long rounds = 0;
  // at least one round: without amber the go line can come before the first round ends
  do {
    double t0 = now_mono();
    CHECK(usleep(30000) == 0, "usleep round %ld: %s", rounds, strerror(errno));
    double dt = now_mono() - t0;
    CHECK(dt >= 0.0299, "usleep(30 ms) round %ld returned after %.6f s", rounds, dt);
    struct timespec ts = {0, 20000000}, rem = {7, 7};
    t0 = now_mono();
    int r = nanosleep(&ts, &rem);
    dt = now_mono() - t0;
    CHECK(r == 0, "nanosleep round %ld: %s (remaining %ld.%09ld)", rounds, strerror(errno), (long)rem.tv_sec, rem.tv_nsec);
    CHECK(dt >= 0.0199, "nanosleep(20 ms) round %ld returned after %.6f s", rounds, dt);
    rounds++;
  } while (!__atomic_load_n(&line_seen, __ATOMIC_SEQ_CST));
  pass();
}
