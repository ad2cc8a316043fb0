/* A POSIX record lock a forked child took before the checkpoint: after restart F_GETLK from the
 * parent reports l_pid == the pid fork returned (not the child's kernel pid of the new run), and
 * the region is still excluded; once the child unlocks (after the go line), F_GETLK says F_UNLCK. */
#include "corpus.h"

static long getlk_pid(int fd, short* type) {
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
  if (fcntl(fd, F_GETLK, &fl)) fail("F_GETLK: %s", strerror(errno));
  *type = fl.l_type;
  return fl.l_pid;
}

int main(void) {
  char path[] = "/tmp/amber-lockown-XXXXXX";
  int fd = SYS(mkstemp(path));
  SYS(ftruncate(fd, 100));
  int ack[2], cmd[2];
  SYS(pipe(ack));
  SYS(pipe(cmd));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int cfd = fd; /* inherited: a POSIX lock belongs to the process that takes it */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 40, .l_len = 10};
    if (fcntl(cfd, F_SETLK, &fl)) _exit(3);
    if (write(ack[1], "l", 1) != 1) _exit(4);
    char c;
    if (read(cmd[0], &c, 1) != 1) _exit(5);
    fl.l_type = F_UNLCK;
    if (fcntl(cfd, F_SETLK, &fl)) _exit(6);
    if (write(ack[1], "u", 1) != 1) _exit(7);
    pause();
    _exit(0);
  }
  peer(kid);
  unlink(path);
  close(ack[1]);
  char c;
  CHECK(read(ack[0], &c, 1) == 1, "the child did not take its lock");
  short type;
  long lp = getlk_pid(fd, &type);
  CHECK(type == F_WRLCK && lp == kid, "before: F_GETLK type %d l_pid %ld, child %d", type, lp, (int)kid);
  ready_wait();
  lp = getlk_pid(fd, &type);
  CHECK(type == F_WRLCK && lp == kid, "after: F_GETLK type %d l_pid %ld, the child (pid %d) holds it", type, lp, (int)kid);
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 45, .l_len = 1};
  CHECK(fcntl(fd, F_SETLK, &fl) == -1 && (errno == EAGAIN || errno == EACCES), "the child's region is not excluded");
  SYS(write(cmd[1], "u", 1));
  CHECK(read(ack[0], &c, 1) == 1 && c == 'u', "the child did not unlock");
  lp = getlk_pid(fd, &type);
  CHECK(type == F_UNLCK, "after the child unlocked: F_GETLK type %d l_pid %ld", type, lp);
  pass();
}
