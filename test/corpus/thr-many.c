/* 50 threads, each counting in its own slot and checking its thread-local id and its gettid()
 * against what it saw at start. After restart every thread is alive and still counting, none saw
 * its TLS or tid change, /proc/self/status counts as many threads as before, and all 50 stop and
 * are joined (pthread_join must not hang). */
#include "corpus.h"
#include <sys/syscall.h>

#define N 50
static __thread int my_id = -1;
static volatile long count[N];
static volatile int bad[N], stop;

static void* run(void* u) {
  my_id = (int)(intptr_t)u;
  pid_t tid = gettid();
  while (!stop) {
    if (my_id != (int)(intptr_t)u) bad[(intptr_t)u] = 1;
    if (gettid() != tid) bad[(intptr_t)u] = 2;
    count[my_id]++;
    usleep(3000);
  }
  return (void*)(intptr_t)(my_id + 1000);
}

int main(void) {
  pthread_t t[N];
  for (intptr_t i = 0; i < N; i++)
    if (pthread_create(&t[i], NULL, run, (void*)i)) fail("pthread_create %ld", (long)i);
  usleep(50000);
  char st0[16] = "?";
  proc_status_field("/proc/self/status", "Threads", st0, sizeof st0);

  ready_wait();

  long c0[N];
  for (int i = 0; i < N; i++) c0[i] = count[i];
  double s = now_mono();
  for (int i = 0; i < N; i++) {
    while (count[i] == c0[i] && now_mono() - s < 5) usleep(10000);
    CHECK(count[i] > c0[i], "thread %d stopped counting (at %ld)", i, c0[i]);
    CHECK(!bad[i], "thread %d saw its %s change", i, bad[i] == 1 ? "thread-local id" : "gettid()");
  }
  char st[16];
  CHECK(!proc_status_field("/proc/self/status", "Threads", st, sizeof st) && !strcmp(st, st0), "/proc/self/status says %s threads, %s before",
        st, st0);
  stop = 1;
  for (int i = 0; i < N; i++) {
    void* r;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    int e = pthread_timedjoin_np(t[i], &r, &dl);
    CHECK(e == 0, "joining thread %d: %s", i, strerror(e));
    CHECK((intptr_t)r == i + 1000, "thread %d returned %ld", i, (long)(intptr_t)r);
  }
  pass();
}
