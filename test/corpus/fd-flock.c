/* flock(LOCK_EX) on a file: after restart another open of the file (in a second process) gets
 * EWOULDBLOCK for LOCK_EX|LOCK_NB and LOCK_SH|LOCK_NB; after we unlock it can take it. */
#include "corpus.h"
#include <sys/file.h>

static int probe(void* want_free) {
  int fd = open("flock.dat", O_RDWR);
  if (fd < 0) return 10;
  int ex = flock(fd, LOCK_EX | LOCK_NB);
  if (want_free) return ex == 0 ? 0 : 20;
  if (ex == 0) return 11;
  if (errno != EWOULDBLOCK) return 12;
  if (flock(fd, LOCK_SH | LOCK_NB) == 0) return 13;
  return 0;
}

int main(void) {
  int fd = SYS(open("flock.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  SYS(flock(fd, LOCK_EX));
  int rc = in_child(probe, NULL);
  if (rc) fail("setup: probe %d", rc);

  ready_wait();

  rc = in_child(probe, NULL);
  CHECK(rc != 11 && rc != 13, "a second process took the flock: the lock is gone");
  CHECK(rc == 0, "flock probe failed with code %d", rc);
  SYS(flock(fd, LOCK_UN));
  rc = in_child(probe, (void*)1);
  CHECK(rc == 0, "after LOCK_UN a second process still cannot lock (code %d)", rc);
  pass();
}
