/* Names: PR_SET_NAME on the main thread ("corpus-main") and pthread_setname_np on a second thread
 * ("corpus-worker"). After restart PR_GET_NAME, /proc/self/comm and pthread_getname_np of the
 * worker read back the same. */
#include "corpus.h"
#include <sys/prctl.h>

static int q[2];
static void* worker(void* u) {
  (void)u;
  char c;
  ssize_t r = read(q[0], &c, 1);
  (void)r;
  return NULL;
}

int main(void) {
  SYS(prctl(PR_SET_NAME, "corpus-main"));
  SYS(pipe(q));
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL)) fail("pthread_create");
  if (pthread_setname_np(t, "corpus-worker")) fail("pthread_setname_np");

  ready_wait();

  char n[32] = {0};
  SYS(prctl(PR_GET_NAME, n));
  CHECK(!strcmp(n, "corpus-main"), "PR_GET_NAME is '%s', want corpus-main", n);
  char comm[32] = {0};
  int f = SYS(open("/proc/self/comm", O_RDONLY));
  SYS(read(f, comm, sizeof comm - 1));
  comm[strcspn(comm, "\n")] = 0;
  CHECK(!strcmp(comm, "corpus-main"), "/proc/self/comm is '%s', want corpus-main", comm);
  char w[32] = {0};
  int e = pthread_getname_np(t, w, sizeof w);
  CHECK(!e, "pthread_getname_np: %s", strerror(e));
  CHECK(!strcmp(w, "corpus-worker"), "the worker's name is '%s', want corpus-worker", w);
  write_all(q[1], "x", 1);
  pthread_join(t, NULL);
  pass();
}
