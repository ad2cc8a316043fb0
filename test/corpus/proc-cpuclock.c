/* CPU-time clocks: clock_getcpuclockid(getpid()) and pthread_getcpuclockid(a thread), obtained
 * before the checkpoint. After restart both clockids still work with clock_gettime (the old pid or
 * tid inside them must still mean us), and the process clock advances when we burn CPU (50 ms of it). */
#include "corpus.h"

static int q[2];
static void* idle(void* u) {
  (void)u;
  char c;
  ssize_t r = read(q[0], &c, 1);
  (void)r;
  return NULL;
}

static double secs(struct timespec t) { return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }

int main(void) {
  clockid_t pc, tc;
  int e = clock_getcpuclockid(getpid(), &pc);
  if (e) fail("clock_getcpuclockid: %s", strerror(e));
  SYS(pipe(q));
  pthread_t t;
  if (pthread_create(&t, NULL, idle, NULL)) fail("pthread_create");
  e = pthread_getcpuclockid(t, &tc);
  if (e) fail("pthread_getcpuclockid: %s", strerror(e));

  ready_wait();

  struct timespec a, b, th;
  CHECK(!clock_gettime(pc, &a), "clock_gettime(process CPU clock): %s", strerror(errno));
  CHECK(!clock_gettime(tc, &th), "clock_gettime(thread CPU clock): %s", strerror(errno));
  volatile uint64_t x = 0;
  double t0 = now_mono();
  do {
    for (int i = 0; i < 100000; i++) x++;
    CHECK(!clock_gettime(pc, &b), "clock_gettime again: %s", strerror(errno));
  } while (secs(b) - secs(a) < 0.05 && now_mono() - t0 < 5);
  CHECK(secs(b) - secs(a) >= 0.05, "the process CPU clock advanced %.3f s over %.1f s of spinning", secs(b) - secs(a), now_mono() - t0);
  write_all(q[1], "x", 1);
  pthread_join(t, NULL);
  pass();
}
