/* F_OFD_SETLKW (an open-file-description lock) blocked across the checkpoint on a region a forked
 * child holds with its own OFD lock; the child reads the go line and releases it (then waits).
 * The wait must end with the lock taken (0, never EINTR or EDEADLK), and then the child cannot take
 * the region (F_OFD_SETLK gets EAGAIN). */
#include "corpus.h"

int main(void) {
  char path[] = "/tmp/amber-ofdw-XXXXXX";
  int fd = SYS(mkstemp(path));
  SYS(ftruncate(fd, 100));
  int ack[2], cmd[2];
  SYS(pipe(ack));
  SYS(pipe(cmd));
  int cfd = SYS(open(path, O_RDWR)); /* the child's own open file description */
  unlink(path);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20};
    if (fcntl(cfd, F_OFD_SETLK, &fl)) _exit(3);
    if (write(ack[1], "l", 1) != 1) _exit(4);
    read_line();
    fl.l_type = F_UNLCK;
    if (fcntl(cfd, F_OFD_SETLK, &fl)) _exit(5);
    char c;
    if (read(cmd[0], &c, 1) != 1) _exit(6);
    fl.l_type = F_WRLCK;
    int r = fcntl(cfd, F_OFD_SETLK, &fl);
    c = (r == -1 && errno == EAGAIN) ? 'y' : 'n';
    if (write(ack[1], &c, 1) != 1) _exit(7);
    pause();
    _exit(0);
  }
  peer(kid);
  close(cfd);
  close(ack[1]);
  char c;
  CHECK(read(ack[0], &c, 1) == 1, "the child did not take its lock");
  ready();
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 50};
  int r = fcntl(fd, F_OFD_SETLKW, &fl);
  CHECK(r == 0, "F_OFD_SETLKW: %s", strerror(errno));
  SYS(write(cmd[1], "t", 1));
  CHECK(read(ack[0], &c, 1) == 1 && c == 'y', "the child could take the region we locked (%c)", c);
  pass();
}
