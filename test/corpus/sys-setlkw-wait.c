/* Blocking record locks: our child holds a POSIX write lock on bytes 0..99 of one file and an OFD
 * write lock on a second file; the main thread waits in fcntl(F_SETLKW) for the first and a second
 * thread in fcntl(F_OFD_SETLKW) for the other. Only the go line (read by a thread, which then tells
 * the child to unlock) may end the waits: both return 0 (never EINTR), and F_GETLK from a fresh
 * process then reports the POSIX lock as ours (our pid). */
#include "corpus.h"

static int ctl[2];
static volatile int ofd_res = -2, ofd_after_line;
static int fd2;
static void release(void) {
  if (write(ctl[1], "u", 1) != 1) fail("write ctl");
}
static void* ofd_waiter(void* u) {
  (void)u;
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
  ofd_res = fcntl(fd2, F_OFD_SETLKW, &l) ? errno : 0;
  ofd_after_line = line_seen;
  return NULL;
}
static int probe(void* want) {
  int f = open("lk1.dat", O_RDWR);
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 1};
  if (f < 0 || fcntl(f, F_GETLK, &l)) return 2;
  return l.l_type == F_WRLCK && l.l_pid == *(pid_t*)want ? 0 : 1;
}

int main(void) {
  int fd1 = SYS(open("lk1.dat", O_RDWR | O_CREAT | O_TRUNC, 0644));
  fd2 = SYS(open("lk2.dat", O_RDWR | O_CREAT | O_TRUNC, 0644));
  SYS(pipe(ctl));
  int held[2];
  SYS(pipe(held));
  pid_t c = SYS(fork());
  if (c == 0) {
    int a = open("lk1.dat", O_RDWR), b = open("lk2.dat", O_RDWR);
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
    struct flock o = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (a < 0 || b < 0 || fcntl(a, F_SETLK, &l) || fcntl(b, F_OFD_SETLK, &o)) _exit(3);
    if (write(held[1], "h", 1) != 1) _exit(4);
    char x;
    if (read(ctl[0], &x, 1) != 1) _exit(5);
    close(b);
    l.l_type = F_UNLCK;
    fcntl(a, F_SETLK, &l);
    pause();
    _exit(0);
  }
  peer(c);
  char x;
  read_exact(held[0], &x, 1, "child took the locks");
  pthread_t t;
  if (pthread_create(&t, NULL, ofd_waiter, NULL)) fail("pthread_create");
  ready();
  line_thread(release);
  struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
  int r = fcntl(fd1, F_SETLKW, &l);
  CHECK(r == 0, "fcntl(F_SETLKW): %s", strerror(errno));
  CHECK(line_seen, "F_SETLKW returned before the go line");
  pthread_join(t, NULL);
  CHECK(ofd_res == 0, "fcntl(F_OFD_SETLKW): %s", strerror(ofd_res));
  CHECK(ofd_after_line, "F_OFD_SETLKW returned before the go line");
  pid_t me = getpid();
  CHECK(in_child(probe, &me) == 0, "F_GETLK from another process does not report our lock with our pid");
  pass();
}
