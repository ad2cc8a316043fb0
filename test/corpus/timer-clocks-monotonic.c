/* Clocks a program subtracts across time: CLOCK_MONOTONIC, MONOTONIC_COARSE, MONOTONIC_RAW,
 * BOOTTIME and REALTIME read (through the vDSO, as glibc does) right before the checkpoint and
 * right after the restart: none goes backwards, and the monotonic ones advanced by no less than
 * the time that passed on the others (they all ran while the program was down). */
#include "corpus.h"
#include <sys/time.h>

static const clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_REALTIME};
static const char* const names[] = {"MONOTONIC", "MONOTONIC_COARSE", "MONOTONIC_RAW", "BOOTTIME", "REALTIME"};
#define N 5

static double rd(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void) {
  double before[N], after[N];
  for (int i = 0; i < N; i++) before[i] = rd(ids[i]);
  struct timeval tv0;
  gettimeofday(&tv0, NULL);
  time_t t0 = time(NULL);

  ready_wait();

  for (int i = 0; i < N; i++) after[i] = rd(ids[i]);
  for (int i = 0; i < N; i++) CHECK(after[i] >= before[i], "CLOCK_%s went back by %.6f s", names[i], before[i] - after[i]);
  double dm = after[0] - before[0];
  CHECK(after[3] - before[3] >= dm - 0.05, "BOOTTIME advanced %.3f s, MONOTONIC %.3f s", after[3] - before[3], dm);
  CHECK(after[2] - before[2] >= dm * 0.9 - 0.05, "MONOTONIC_RAW advanced %.3f s, MONOTONIC %.3f s", after[2] - before[2], dm);
  struct timeval tv1;
  gettimeofday(&tv1, NULL);
  CHECK(tv1.tv_sec > tv0.tv_sec || (tv1.tv_sec == tv0.tv_sec && tv1.tv_usec >= tv0.tv_usec), "gettimeofday went back");
  CHECK(time(NULL) >= t0, "time() went back");
  pass();
}
