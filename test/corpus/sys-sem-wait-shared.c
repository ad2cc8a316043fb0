/* A forked child blocks in sem_wait (no timeout) on an unnamed process-shared POSIX semaphore in a
 * MAP_SHARED anonymous page, across the checkpoint; the parent reads the go line and only then
 * posts. The child must get it (0, never EINTR) and report through the same shared page; the page
 * is still one page for both after the restart. */
#include "corpus.h"
#include <semaphore.h>
#include <sys/mman.h>

struct shared {
  sem_t go, done;
  volatile int child_got;
  volatile int child_err;
};

int main(void) {
  struct shared* s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(s != MAP_FAILED, "mmap: %s", strerror(errno));
  SYS(sem_init(&s->go, 1, 0));
  SYS(sem_init(&s->done, 1, 0));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int r = sem_wait(&s->go);
    s->child_err = r ? errno : 0;
    s->child_got = 1;
    sem_post(&s->done);
    _exit(0);
  }
  peer(kid);
  usleep(20000);
  ready_wait();
  CHECK(!s->child_got, "the child's sem_wait returned (%s) before the post", strerror(s->child_err));
  SYS(sem_post(&s->go));
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 15;
  CHECK(sem_timedwait(&s->done, &dl) == 0, "the child did not answer within 15 s: %s", strerror(errno));
  CHECK(s->child_got && s->child_err == 0, "the child's sem_wait: %s", strerror(s->child_err));
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  corpus_npeers = 0;
  pass();
}
