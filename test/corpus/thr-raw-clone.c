/* A thread made by a raw clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|
 * CLONE_SYSVSEM), not pthread_create (as language runtimes with their own threads do): it runs
 * on its own mmap'd stack, without glibc's thread descriptor, and counts in shared memory. After
 * the restart it is still there (in /proc/self/task, by the tid clone returned) and still
 * counting, and it exits on request, which the main thread sees through CLONE_CHILD_CLEARTID. */
#include "corpus.h"
#include <sched.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/syscall.h>

static volatile long count;
static volatile int stop;
static volatile pid_t ctid = 1;

static int body(void* u) {
  (void)u;
  while (!stop) {
    count++;
    struct timespec ts = {0, 2000000};
    syscall(SYS_nanosleep, &ts, NULL);  // raw: this thread has no glibc descriptor
  }
  syscall(SYS_exit, 0);
  return 0;
}

int main(void) {
  size_t sz = 256 * 1024;
  char* stack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  CHECK(stack != MAP_FAILED, "mmap: %s", strerror(errno));
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID;
  pid_t tid = clone(body, stack + sz, flags, NULL, NULL, NULL, (pid_t*)&ctid);
  CHECK(tid > 0, "clone: %s", strerror(errno));
  for (int i = 0; i < 5000 && count < 3; i++) usleep(1000);
  CHECK(count >= 3, "the clone thread does not count");
  ready_wait();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
  CHECK(access(path, F_OK) == 0, "%s: %s after the restart", path, strerror(errno));
  long c0 = count;
  for (int i = 0; i < 10000 && count < c0 + 3; i++) usleep(1000);
  CHECK(count >= c0 + 3, "the clone thread stopped counting (%ld)", count);
  stop = 1;
  // CLONE_CHILD_CLEARTID: the kernel zeroes ctid and wakes the futex when the thread is gone
  for (int i = 0; i < 10000 && ctid != 0; i++) usleep(1000);
  CHECK(ctid == 0, "the clone thread did not exit (ctid %d)", (int)ctid);
  pass();
}
