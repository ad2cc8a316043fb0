/* stall MIB [PAGES_PER_MS]: how long a running program is stopped by a checkpoint, as the program
 * sees it. Fills MIB MiB with a xorshift64 PRNG (incompressible), prints "ready", then runs for
 * ever: every millisecond it dirties PAGES_PER_MS (default 16) pseudo-random pages of that memory
 * (a program at work: a forked checkpoint copies exactly those pages) and reads CLOCK_MONOTONIC.
 * Whenever two rounds are more than 5 ms apart it prints "stall <microseconds>": the time it did
 * not run beyond its own 1 ms sleep. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
  unsigned per_ms = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 16;
  size_t words = (mib << 20) / 8, pages = (mib << 20) / 4096;
  uint64_t *p = malloc(words * 8);
  if (!p) return 2;
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (size_t i = 0; i < words; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = x;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  int64_t last = now_us();
  for (;;) {
    for (unsigned k = 0; k < per_ms; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      p[(x % pages) * 512 + (x >> 40) % 512] ^= x;
    }
    struct timespec req = {0, 1000000}, rem;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
    int64_t t = now_us();
    if (t - last > 5000) printf("stall %lld\n", (long long)(t - last - 1000));
    last = t;
  }
}
