/* A multi-threaded child (three threads counting in shared memory, the main thread waiting in
 * pthread_join) stopped by SIGSTOP from its parent. After the checkpoint and the restart: still
 * stopped and NO thread of it has run (no counter moved: every thread must stay stopped through
 * the continue and stop again the checkpoint needs), no new report; SIGCONT continues every
 * thread. */
#include "stopped.h"

#define NT 3
static volatile unsigned long* ctr;

static void* worker(void* a) {
  int i = (int)(intptr_t)a;
  for (;;) {
    ctr[i]++;
    usleep(1000);
  }
  return NULL;
}

int main(void) {
  ctr = shared_page();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) pthread_create(&th[i], NULL, worker, (void*)(intptr_t)i);
    pthread_join(th[0], NULL);
    _exit(9);
  }
  peer(kid);
  for (int i = 0; i < NT; i++) CHECK(changes(&ctr[i], 0), "setup: thread %d of the child does not run", i);
  SYS(kill(kid, SIGSTOP));
  int st;
  SYS(waitpid(kid, &st, WUNTRACED));
  if (!WIFSTOPPED(st)) fail("setup: child status %#x, not stopped", st);
  unsigned long c0[NT];
  for (int i = 0; i < NT; i++) c0[i] = ctr[i];

  ready_wait();

  usleep(50000);
  for (int i = 0; i < NT; i++) CHECK(ctr[i] == c0[i], "thread %d of the stopped child ran (counter %lu, was %lu)", i, ctr[i], c0[i]);
  check_still_stopped(kid, "after restart");
  SYS(kill(kid, SIGCONT));
  pid_t r = waitpid(kid, &st, WCONTINUED);
  CHECK(r == kid && WIFCONTINUED(st), "waitpid(WCONTINUED) returned %d status %#x", (int)r, st);
  for (int i = 0; i < NT; i++) CHECK(changes(&ctr[i], c0[i]), "thread %d of the continued child does not run", i);
  SYS(kill(kid, SIGKILL));
  r = waitpid(kid, &st, 0);
  CHECK(r == kid && WIFSIGNALED(st), "child ended with %#x", st);
  pass();
}
