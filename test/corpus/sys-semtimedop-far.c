/* semtimedop (a 60 s relative timeout) waiting for a SysV semaphore to go from 0 to 1, blocked
 * across the checkpoint; only the go line (read by a thread, which then adds 1) may end it. It must
 * return 0 (never EINTR, never EAGAIN for a timeout) after the go line, and the value is 0 after. */
#include "corpus.h"
#include <sys/ipc.h>
#include <sys/sem.h>

static int id = -1;
static void rm(void) { semctl(id, 0, IPC_RMID); }
static void post(void) {
  struct sembuf op = {0, 1, 0};
  if (semop(id, &op, 1)) fail("semop +1: %s", strerror(errno));
}

int main(void) {
  id = SYS(semget(IPC_PRIVATE, 1, 0600));
  on_exit_cleanup(rm);
  ready();
  line_thread(post);
  struct sembuf op = {0, -1, 0};
  struct timespec to = {60, 0};
  double t0 = now_mono();
  int r = semtimedop(id, &op, 1, &to);
  CHECK(r == 0, "semtimedop: %s after %.3f s", strerror(errno), now_mono() - t0);
  CHECK(line_seen, "semtimedop returned before the go line");
  CHECK(semctl(id, 0, GETVAL) == 0, "the semaphore is %d after the wait", semctl(id, 0, GETVAL));
  pass();
}
