/* The main thread blocks in semop(-1) on a SysV semaphore at 0; only the go line (read by another
 * thread, which then adds 1) may wake it. semop must return 0, never EINTR, and the set must be
 * as it was (the second semaphore still 5, nobody left waiting). */
#include "corpus.h"
#include <sys/ipc.h>
#include <sys/sem.h>

static int id;
static void rm(void) { semctl(id, 0, IPC_RMID); }
static void post(void) {
  struct sembuf up = {0, 1, 0};
  if (semop(id, &up, 1)) fail("semop +1: %s", strerror(errno));
}

int main(void) {
  id = SYS(semget(IPC_PRIVATE, 2, 0600));
  on_exit_cleanup(rm);
  SYS(semctl(id, 1, SETVAL, 5));
  ready();
  line_thread(post);
  struct sembuf down = {0, -1, 0};
  int r = semop(id, &down, 1);
  CHECK(r == 0, "semop -1: %s", strerror(errno));
  CHECK(line_seen, "semop returned before the go line");
  CHECK(semctl(id, 0, GETVAL) == 0, "semaphore 0 is %d, want 0", semctl(id, 0, GETVAL));
  CHECK(semctl(id, 1, GETVAL) == 5, "semaphore 1 is %d, want 5", semctl(id, 1, GETVAL));
  CHECK(semctl(id, 0, GETNCNT) == 0, "%d waiters left on semaphore 0", semctl(id, 0, GETNCNT));
  pass();
}
