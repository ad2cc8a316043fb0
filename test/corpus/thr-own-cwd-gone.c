/* A thread with a working directory of its own (unshare(CLONE_FS)) that was then removed: nothing
 * can make that directory again (a new one with its name is another directory), so amber refuses
 * the checkpoint naming it rather than move the thread somewhere else. Without amber: the thread's
 * getcwd fails with ENOENT while the main thread's works. */
#include "corpus.h"
#include <sched.h>

static volatile int phase;
static volatile int t_errno;

static void* th(void* u) {
  (void)u;
  if (unshare(CLONE_FS) || mkdir("gone", 0755) || chdir("gone") || rmdir("../gone")) {
    __atomic_store_n(&phase, -1, __ATOMIC_SEQ_CST);
    return NULL;
  }
  __atomic_store_n(&phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 2) usleep(1000);
  char b[4096];
  t_errno = getcwd(b, sizeof b) ? 0 : errno;
  __atomic_store_n(&phase, 3, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, th, NULL)) fail("pthread_create");
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) == 0) usleep(1000);
  if (phase < 0) skip("unshare(CLONE_FS) and a removed directory in a thread: %s", strerror(errno));

  ready_wait();

  char b[4096];
  CHECK(getcwd(b, sizeof b) != NULL, "the main thread's getcwd failed: %s", strerror(errno));
  __atomic_store_n(&phase, 2, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 3) usleep(1000);
  CHECK(t_errno == ENOENT, "the thread's getcwd in its removed directory gave %s, want ENOENT", strerror(t_errno));
  pthread_join(t, NULL);
  pass();
}
