/* A POSIX timer on a worker thread's own CPU clock (timer_create(CLOCK_THREAD_CPUTIME_ID) called
 * by the worker: a per-thread watchdog), 100 ms of that thread's CPU, the worker idle at the
 * checkpoint (blocked in read). After restart the main thread burns 300 ms of CPU: the worker's timer must not move
 * (it counts the worker's CPU, not the main thread's, nor the process's); then the worker burns
 * CPU and its timer fires (bounded: 20 s of real time). */
#include "corpus.h"

static timer_t wt;
static volatile int created, fired;
static int gate[2];
static double left0;

static double left(void) {
  struct itimerspec it;
  if (timer_gettime(wt, &it)) fail("timer_gettime: %s", strerror(errno));
  return (double)it.it_value.tv_sec + (double)it.it_value.tv_nsec / 1e9;
}

static double cpu(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void* worker(void* u) {
  (void)u;
  struct sigevent ev = {.sigev_notify = SIGEV_NONE};
  if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &wt)) return NULL;
  struct itimerspec it = {.it_value = {0, 100000000}};
  timer_settime(wt, 0, &it, NULL);
  left0 = left();
  created = 1;
  /* idle at the checkpoint without using CPU (a sleep loop would burn the timer away) */
  char c;
  if (read(gate[0], &c, 1) != 1) return NULL;
  double start = now_mono();
  volatile unsigned long x = 0;
  while (left() > 0 && now_mono() - start < 20)
    for (int i = 0; i < 100000; i++) x += (unsigned long)i;
  fired = left() == 0;
  return NULL;
}

int main(void) {
  SYS(pipe(gate));
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL)) fail("pthread_create");
  while (!created) usleep(1000);
  if (left0 <= 0) fail("setup: the worker's timer is not armed");

  ready_wait();

  double l1 = left();
  CHECK(l1 > 0 && l1 <= left0 + 0.0005, "the worker's CPU timer has %.3f s left, %.3f s before the checkpoint", l1, left0);
  double c0 = cpu(CLOCK_THREAD_CPUTIME_ID), start = now_mono();
  volatile unsigned long x = 0;
  while (cpu(CLOCK_THREAD_CPUTIME_ID) - c0 < 0.3 && now_mono() - start < 20)
    for (int i = 0; i < 100000; i++) x += (unsigned long)i;
  double l2 = left();
  CHECK(l2 >= l1 - 0.005, "the worker's CPU timer went from %.3f s to %.3f s left while only the main thread ran (it counts "
        "another thread's CPU)", l1, l2);
  write_all(gate[1], "g", 1);
  pthread_join(t, NULL);
  CHECK(fired, "the worker's CPU timer did not run out while the worker burnt CPU (%.3f s left)", left());
  pass();
}
