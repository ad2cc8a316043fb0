/* The main thread ends with pthread_exit while a worker thread goes on (the process lives on with
 * its leader a zombie thread: some servers and runtimes do this). The worker does the protocol:
 * after restart it is alive, getpid() is unchanged, /proc/self/status counts 2 threads (the
 * leader still listed), and the worker can still create a thread and join it. */
#include "corpus.h"
#include <sys/syscall.h>

static pid_t pid0;
static void* inner(void* u) { return u; }
static void* worker(void* u) {
  (void)u;
  /* Wait until the main thread has really exited (its state in /proc is Z). */
  char path[64], st[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)pid0);
  for (int i = 0; i < 2000; i++) {
    if (proc_status_field(path, "State", st, sizeof st) == 0 && st[0] == 'Z') break;
    usleep(1000);
  }
  ready_wait();
  CHECK(getpid() == pid0, "getpid() is %d, was %d", (int)getpid(), (int)pid0);
  char thr[32];
  CHECK(proc_status_field("/proc/self/status", "Threads", thr, sizeof thr) == 0, "no Threads line");
  CHECK(atoi(thr) == 2, "/proc/self/status counts %s threads, want 2 (the exited leader and us)", thr);
  pthread_t t;
  void* r = NULL;
  CHECK(pthread_create(&t, NULL, inner, (void*)7) == 0, "pthread_create after restart");
  CHECK(pthread_join(t, &r) == 0 && r == (void*)7, "join after restart");
  pass();
}

int main(void) {
  pid0 = getpid();
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL)) fail("pthread_create");
  pthread_exit(NULL);
}
