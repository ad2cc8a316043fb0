/* A SysV semaphore set of 3 (values 4, 0, 9); our child took 2 from semaphore 0 with SEM_UNDO and
 * waits. After restart the values are 2, 0, 9 under the same id, the last operation is the
 * child's, and when the child exits the kernel undoes its operation: semaphore 0 is back to 4
 * (the child's undo record survived the restart). */
#include "corpus.h"
#include <sys/ipc.h>
#include <sys/sem.h>

static int id = -1;
static void rm(void) { semctl(id, 0, IPC_RMID); }

int main(void) {
  id = SYS(semget(IPC_PRIVATE, 3, 0600));
  on_exit_cleanup(rm);
  unsigned short v[3] = {4, 0, 9};
  SYS(semctl(id, 0, SETALL, v));
  int q[2], a[2];
  SYS(pipe(q));
  SYS(pipe(a));
  pid_t k = SYS(fork());
  if (k == 0) {
    struct sembuf op = {0, -2, SEM_UNDO};
    if (semop(id, &op, 1)) _exit(10);
    write_all(a[1], "t", 1);
    char c;
    if (read(q[0], &c, 1) != 1) _exit(11);
    _exit(0);
  }
  peer(k);
  char c;
  read_exact(a[0], &c, 1, "child took the semaphore");

  ready_wait();

  unsigned short now[3] = {0};
  CHECK(!semctl(id, 0, GETALL, now), "GETALL on set %d: %s", id, strerror(errno));
  CHECK(now[0] == 2 && now[1] == 0 && now[2] == 9, "values %u %u %u, want 2 0 9", now[0], now[1], now[2]);
  CHECK(semctl(id, 0, GETPID) == k, "last operation by %d, want the child %d", semctl(id, 0, GETPID), (int)k);
  write_all(q[1], "x", 1);
  int st;
  CHECK(waitpid(k, &st, 0) == k && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child ended with %#x", st);
  CHECK(semctl(id, 0, GETVAL) == 4, "semaphore 0 is %d after the child exited, want 4 (its SEM_UNDO was lost)", semctl(id, 0, GETVAL));
  pass();
}
