/* A POSIX shared memory object (shm_open in /dev/shm, 3 pages) mapped MAP_SHARED with data: after
 * restart the mapping still is that object: a store through it shows in a fresh shm_open+pread,
 * and a pwrite through the fresh descriptor shows in the mapping. */
#include "mem.h"

static char name[64];
static void rm(void) { shm_unlink(name); }

int main(void) {
  snprintf(name, sizeof name, "/corpus-shm-%d", (int)getpid());
  int f = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (f < 0) skip("shm_open: %s", strerror(errno));
  on_exit_cleanup(rm);
  SYS(ftruncate(f, 3 * 4096));
  char* m = SYS(mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0));
  close(f);
  fill_pattern(m, 3 * 4096, 381);

  ready_wait();

  CHECK(check_pattern(m, 3 * 4096, 381) < 0, "the mapping's data differs");
  int g = shm_open(name, O_RDWR, 0);
  CHECK(g >= 0, "shm_open of the object: %s (it is gone)", strerror(errno));
  static char b[3 * 4096];
  CHECK(pread(g, b, sizeof b, 0) == (ssize_t)sizeof b && check_pattern(b, sizeof b, 381) < 0, "the object's contents differ from the mapping");
  memcpy(m + 100, "store", 5);
  SYS(pread(g, b, 5, 100));
  CHECK(!memcmp(b, "store", 5), "a store through the mapping does not reach the object (a private copy?)");
  SYS(pwrite(g, "write", 5, 8192));
  CHECK(!memcmp(m + 8192, "write", 5), "a write to the object does not show in the mapping");
  pass();
}
