/* A child made with clone(CLONE_FILES): one descriptor table shared with us. Before the checkpoint
 * the child opened a file we can use. After restart a file we open is usable by the child (it
 * writes through our new descriptor), and the child's close of its descriptor closes ours. */
#include "corpus.h"
#include <sched.h>

static int q[2], a[2];
static int child(void* u) {
  (void)u;
  int fd = open("from-child.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
  write_all(a[1], &fd, sizeof fd);
  int mine;
  if (read(q[0], &mine, sizeof mine) != sizeof mine) return 10;
  if (write(mine, "via shared table", 16) != 16) return 11;
  if (close(fd)) return 12;
  return 0;
}

int main(void) {
  SYS(pipe(q));
  SYS(pipe(a));
  static char stack[256 * 1024] __attribute__((aligned(16)));
  pid_t kid = clone(child, stack + sizeof stack, CLONE_FILES | SIGCHLD, NULL);
  if (kid < 0) fail("clone: %s", strerror(errno));
  peer(kid);
  int cfd;
  read_exact(a[0], &cfd, sizeof cfd, "child's fd");
  if (cfd < 0 || fcntl(cfd, F_GETFD) < 0) fail("setup: the child's descriptor %d is not in our table", cfd);

  ready_wait();

  CHECK(fcntl(cfd, F_GETFD) >= 0, "the child's descriptor %d is no longer in our table", cfd);
  int mine = SYS(open("from-parent.dat", O_RDWR | O_CREAT | O_TRUNC, 0600));
  write_all(q[1], &mine, sizeof mine);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st), "the child died (status %#x)", st);
  CHECK(WEXITSTATUS(st) != 11, "the child cannot write through a descriptor we opened after restart (tables not shared)");
  CHECK(WEXITSTATUS(st) != 12, "the child cannot close its own descriptor");
  CHECK(WEXITSTATUS(st) == 0, "the child exited %d", WEXITSTATUS(st));
  char b[32] = {0};
  CHECK(pread(mine, b, sizeof b, 0) == 16 && !memcmp(b, "via shared table", 16), "our file does not hold what the child wrote");
  CHECK(fcntl(cfd, F_GETFD) < 0 && errno == EBADF, "the child closed descriptor %d but ours is still open (tables not shared)", cfd);
  pass();
}
