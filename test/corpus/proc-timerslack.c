/* prctl(PR_SET_TIMERSLACK) on the main thread (a power-saving daemon lets its timers be late by
 * 50 ms) and another value on a second thread: after restart each thread has its own slack. */
#include "corpus.h"
#include <sys/prctl.h>

static volatile long other;
static volatile int other_set, other_go, other_read;

static void* th(void* a) {
  (void)a;
  prctl(PR_SET_TIMERSLACK, 777000UL, 0, 0, 0);
  other_set = 1;
  while (!other_go) usleep(1000);
  other = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  other_read = 1;
  return NULL;
}

int main(void) {
  SYS(prctl(PR_SET_TIMERSLACK, 50000000UL, 0, 0, 0));
  pthread_t t;
  pthread_create(&t, NULL, th, NULL);
  while (!other_set) usleep(1000);

  ready_wait();

  long s = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  CHECK(s == 50000000, "the main thread's timer slack is %ld ns, want 50000000", s);
  other_go = 1;
  while (!other_read) usleep(1000);
  CHECK(other == 777000, "the second thread's timer slack is %ld ns, want 777000", other);
  pass();
}
