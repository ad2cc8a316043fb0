/* The main thread ends with pthread_exit while a worker thread goes on (the process lives on with
 * its leader a zombie thread: some servers and runtimes do this). The worker does the protocol:
 * after restart it is alive, getpid() and its gettid() are unchanged, the leader is still listed
 * as a zombie (State Z), /proc/self/status counts the threads it did (the leader still counted), and the
 * worker can still create a thread and join it. */
#include "corpus.h"
#include <sys/syscall.h>

static pid_t pid0;
static void* inner(void* u) { return u; }
static void* worker(void* u) {
  (void)u;
  /* Wait until the main thread has really exited (its state in /proc is Z). */
  char path[64], st[64] = "";
  snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)pid0);
  for (int i = 0; i < 2000; i++) {
    if (proc_status_field(path, "State", st, sizeof st) == 0 && st[0] == 'Z') break;
    usleep(1000);
  }
  pid_t tid0 = (pid_t)syscall(SYS_gettid);
  /* The count as the program sees it before (2 without amber: the ended leader and us; amber's own
   * thread is there from the launch on, not only after a checkpoint). */
  char thr0[32] = "";
  proc_status_field("/proc/self/status", "Threads", thr0, sizeof thr0);
  ready_wait();
  CHECK(getpid() == pid0, "getpid() is %d, was %d", (int)getpid(), (int)pid0);
  CHECK((pid_t)syscall(SYS_gettid) == tid0, "gettid() is %d, was %d", (int)syscall(SYS_gettid), (int)tid0);
  CHECK(proc_status_field(path, "State", st, sizeof st) == 0 && st[0] == 'Z',
        "the ended main thread is '%s' in %s, want Z (a zombie leader)", st, path);
  char thr[32];
  CHECK(proc_status_field("/proc/self/status", "Threads", thr, sizeof thr) == 0, "no Threads line");
  CHECK(atoi(thr) >= 2 && !strcmp(thr, thr0), "/proc/self/status counts %s threads, want %s as before (the exited leader still counted)",
        thr, thr0);
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
