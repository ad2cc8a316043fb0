/* A second thread blocks in waitpid(child) (a supervisor thread) while the main thread waits on
 * stdin; the child exits 9 only after the go line (it reads a pipe we write then). waitpid in the
 * thread must return the pid fork returned with status 9, never EINTR or ECHILD. */
#include "corpus.h"

static pid_t child;
static volatile pid_t got = -2;
static volatile int st, err;
static void* reaper(void* u) {
  (void)u;
  int s;
  pid_t r = waitpid(child, &s, 0);
  err = errno;
  st = s;
  got = r;
  return NULL;
}

int main(void) {
  int go[2];
  SYS(pipe(go));
  child = SYS(fork());
  if (child == 0) {
    char x;
    if (read(go[0], &x, 1) != 1) _exit(2);
    _exit(9);
  }
  pthread_t t;
  if (pthread_create(&t, NULL, reaper, NULL)) fail("pthread_create");
  usleep(20000);

  ready_wait();

  CHECK(got == -2, "waitpid returned %d (%s) before the child exited", (int)got, strerror(err));
  write_all(go[1], "x", 1);
  pthread_join(t, NULL);
  CHECK(got == child, "waitpid returned %d (%s), want the child %d", (int)got, got < 0 ? strerror(err) : "", (int)child);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 9, "status %#x, want exit 9", st);
  pass();
}
