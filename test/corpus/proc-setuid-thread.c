/* One thread of a root process switches to another user by a raw system call (setresuid changes
 * only the calling thread; glibc's wrapper would change them all): the process then has two sets
 * of credentials. After the checkpoint the switched thread is still 65534 and the main thread
 * still root. SKIP unless run as root. */
#include "corpus.h"
#include <sys/syscall.h>

static volatile int switched, go_on;
static uid_t seen[3];

static void* worker(void* u) {
  (void)u;
  if (syscall(SYS_setresuid, 65534, 65534, 65534) != 0) { switched = -1; return NULL; }
  switched = 1;
  while (!go_on) usleep(10000);
  getresuid(&seen[0], &seen[1], &seen[2]);  /* glibc's getresuid is per-thread too */
  return NULL;
}

int main(void) {
  if (getuid() != 0) skip("needs root (setuid to another user)");
  pthread_t t;
  CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
  while (!switched) usleep(10000);
  CHECK(switched == 1, "setup: the thread's raw setresuid failed");

  ready_wait();

  go_on = 1;
  pthread_join(t, NULL);
  CHECK(seen[0] == 65534 && seen[1] == 65534 && seen[2] == 65534, "the switched thread has uids %u/%u/%u, want 65534", seen[0], seen[1], seen[2]);
  uid_t r, e, s;
  SYS(getresuid(&r, &e, &s));
  CHECK(r == 0 && e == 0 && s == 0, "the main thread has uids %u/%u/%u, want root", r, e, s);
  pass();
}
