/* What Open MPI does: a /dev/shm object created, mapped MAP_SHARED by us and our child, then
 * unlinked. After restart the name is still gone, but we and the child still share the memory:
 * each sees the other's writes. */
#include "mem.h"

int main(void) {
  char name[64];
  snprintf(name, sizeof name, "/corpus-shmdel-%d", (int)getpid());
  int f = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (f < 0) skip("shm_open: %s", strerror(errno));
  SYS(ftruncate(f, 2 * 4096));
  volatile char* m = SYS(mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0));
  close(f);
  fill_pattern((char*)m + 4096, 4096, 391);
  int q[2];
  SYS(pipe(q));
  pid_t k = SYS(fork());
  if (k == 0) {
    char c;
    if (read(q[0], &c, 1) != 1) _exit(10);
    if (check_pattern((char*)m + 4096, 4096, 391) >= 0) _exit(11);
    m[0] = 'C';
    for (int i = 0; i < 1500 && m[1] != 'P'; i++) usleep(2000);
    _exit(m[1] == 'P' ? 0 : 12);
  }
  peer(k);
  SYS(shm_unlink(name));

  ready_wait();

  CHECK(shm_open(name, O_RDONLY, 0) < 0 && errno == ENOENT, "the unlinked object is back at its name");
  CHECK(check_pattern((char*)m + 4096, 4096, 391) < 0, "the shared data differs");
  write_all(q[1], "g", 1);
  for (int i = 0; i < 1500 && m[0] != 'C'; i++) usleep(2000);
  CHECK(m[0] == 'C', "we do not see the child's write (the memory is no longer shared)");
  m[1] = 'P';
  int st;
  CHECK(waitpid(k, &st, 0) == k, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 11 = other data, 12 = it did not see our write)", st);
  pass();
}
