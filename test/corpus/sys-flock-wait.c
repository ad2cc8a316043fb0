/* flock(LOCK_EX) blocking: our child holds an exclusive flock on a file, the main thread waits for
 * it in flock(LOCK_EX) on its own open of the file. Only the go line (read by a thread, which then
 * tells the child to unlock) may end the wait: flock must return 0 (never EINTR) after the go
 * line, and then the child cannot take the lock (EWOULDBLOCK). */
#include "corpus.h"
#include <sys/file.h>

static int ctl[2];
static void release(void) {
  if (write(ctl[1], "u", 1) != 1) fail("write ctl");
}
static int probe(void* u) {
  (void)u;
  int f = open("flock.dat", O_RDWR);
  if (f < 0) return 2;
  return flock(f, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK ? 0 : 1;
}

int main(void) {
  int fd = SYS(open("flock.dat", O_RDWR | O_CREAT | O_TRUNC, 0644));
  SYS(pipe(ctl));
  int held[2];
  SYS(pipe(held));
  pid_t c = SYS(fork());
  if (c == 0) {
    int f = open("flock.dat", O_RDWR);
    if (f < 0 || flock(f, LOCK_EX)) _exit(3);
    if (write(held[1], "h", 1) != 1) _exit(4);
    char x;
    if (read(ctl[0], &x, 1) != 1) _exit(5);
    flock(f, LOCK_UN);
    pause();
    _exit(0);
  }
  peer(c);
  char x;
  read_exact(held[0], &x, 1, "child took the lock");
  ready();
  line_thread(release);
  int r = flock(fd, LOCK_EX);
  CHECK(r == 0, "flock(LOCK_EX): %s", strerror(errno));
  CHECK(line_seen, "flock returned before the go line (the child still held it)");
  CHECK(in_child(probe, NULL) == 0, "a third process could take the lock we now hold");
  pass();
}
