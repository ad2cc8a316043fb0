/* A named POSIX semaphore (sem_open "/corpus-sem-<pid>", value 2) opened by us and our child: after
 * restart both still have the one semaphore: we read 2, the child's sem_post makes it 3 for us, our
 * sem_trywait takes it to 2 for the child, and a fresh sem_open of the name is the same one. */
#include "corpus.h"
#include <semaphore.h>

static char name[64];
static void rm(void) { sem_unlink(name); }

int main(void) {
  snprintf(name, sizeof name, "/corpus-sem-%d", (int)getpid());
  sem_t* s = sem_open(name, O_CREAT | O_EXCL, 0600, 2);
  if (s == SEM_FAILED) skip("sem_open: %s", strerror(errno));
  on_exit_cleanup(rm);
  int to[2], from[2];
  SYS(pipe(to));
  SYS(pipe(from));
  pid_t c = SYS(fork());
  if (c == 0) {
    char x;
    if (read(to[0], &x, 1) != 1) _exit(2);
    sem_post(s);
    if (write(from[1], "p", 1) != 1) _exit(3);
    if (read(to[0], &x, 1) != 1) _exit(4);
    int v = -1;
    sem_getvalue(s, &v);
    if (write(from[1], &v, sizeof v) != sizeof v) _exit(5);
    pause();
    _exit(0);
  }
  peer(c);

  ready_wait();

  int v = -1;
  sem_getvalue(s, &v);
  CHECK(v == 2, "value %d, want 2", v);
  write_all(to[1], "x", 1);
  char x;
  read_exact(from[0], &x, 1, "the child posted");
  sem_getvalue(s, &v);
  CHECK(v == 3, "after the child's post the value is %d, want 3 (not the same semaphore)", v);
  CHECK(sem_trywait(s) == 0, "sem_trywait: %s", strerror(errno));
  write_all(to[1], "y", 1);
  read_exact(from[0], &v, sizeof v, "the child's value");
  CHECK(v == 2, "the child sees %d after our wait, want 2", v);
  sem_t* again = sem_open(name, 0);
  CHECK(again != SEM_FAILED, "sem_open of the name again: %s", strerror(errno));
  sem_post(again);
  sem_getvalue(s, &v);
  CHECK(v == 3, "a post through a fresh open of the name is not ours (value %d)", v);
  pass();
}
