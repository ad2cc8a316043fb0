/* A detached thread (pthread_detach) counting in a loop: after restart it still runs, it is still
 * detached (pthread_join on it is EINVAL), and when told to stop it exits by itself (its exit
 * does not hang the process, and the process count of threads drops back). */
#include "corpus.h"

static volatile long count;
static volatile int stop, done;

static int threads_now(void) {
  char b[64];
  return proc_status_field("/proc/self/status", "Threads", b, sizeof b) ? -1 : atoi(b);
}

static void* run(void* u) {
  (void)u;
  while (!stop) {
    count++;
    usleep(2000);
  }
  done = 1;
  return NULL;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, run, NULL)) fail("pthread_create");
  if (pthread_detach(t)) fail("pthread_detach");
  while (count < 3) usleep(1000);
  int before = threads_now();

  ready_wait();

  long c0 = count;
  for (int i = 0; i < 5000 && count == c0; i++) usleep(1000);
  CHECK(count != c0, "the detached thread does not run after restart");
  CHECK(threads_now() == before, "%d threads, want %d", threads_now(), before);
  int e = pthread_join(t, NULL);
  CHECK(e == EINVAL, "pthread_join on the detached thread: %s, want EINVAL (no longer detached)", strerror(e));
  stop = 1;
  for (int i = 0; i < 5000 && !done; i++) usleep(1000);
  CHECK(done, "the detached thread did not stop");
  for (int i = 0; i < 5000 && threads_now() != before - 1; i++) usleep(1000);
  CHECK(threads_now() == before - 1, "%d threads after the detached one ended, want %d", threads_now(), before - 1);
  pass();
}
