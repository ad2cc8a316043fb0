/* A SysV shared memory segment (IPC_PRIVATE, 64 KiB) attached in us and in our child: after
 * restart both still attach the same segment (same id, IPC_STAT size 64 KiB, 2 attaches), the data
 * is there, and writes cross both ways. */
#include "mem.h"
#include <sys/ipc.h>
#include <sys/shm.h>

static int id = -1;
static void rm(void) { shmctl(id, IPC_RMID, NULL); }

int main(void) {
  id = SYS(shmget(IPC_PRIVATE, 65536, 0600));
  on_exit_cleanup(rm);
  volatile char* m = SYS(shmat(id, NULL, 0));
  fill_pattern((char*)m + 4096, 8192, 371);
  int q[2];
  SYS(pipe(q));
  pid_t k = SYS(fork());
  if (k == 0) {
    char c;
    if (read(q[0], &c, 1) != 1) _exit(10);
    if (m[0] != 'P') _exit(11);
    m[1] = 'C';
    for (int i = 0; i < 1500 && m[2] != 'p'; i++) usleep(2000);
    _exit(m[2] == 'p' ? 0 : 12);
  }
  peer(k);
  m[0] = 'P';

  ready_wait();

  struct shmid_ds ds;
  CHECK(!shmctl(id, IPC_STAT, &ds), "IPC_STAT on segment %d: %s (the segment id changed or is gone)", id, strerror(errno));
  CHECK(ds.shm_segsz == 65536, "segment size %zu, want 65536", (size_t)ds.shm_segsz);
  CHECK(ds.shm_nattch == 2, "%lu attaches, want 2 (us and the child)", (unsigned long)ds.shm_nattch);
  CHECK(check_pattern((char*)m + 4096, 8192, 371) < 0, "the segment's data differs");
  write_all(q[1], "g", 1);
  for (int i = 0; i < 1500 && m[1] != 'C'; i++) usleep(2000);
  CHECK(m[1] == 'C', "we do not see the child's write (not one segment any more)");
  m[2] = 'p';
  int st;
  CHECK(waitpid(k, &st, 0) == k, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 11 = it saw other data, 12 = not our write)", st);
  pass();
}
