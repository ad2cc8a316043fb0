/* A write lease (F_SETLEASE F_WRLCK) on our own file: after restart F_GETLEASE still says F_WRLCK,
 * and another process's non-blocking open breaks it: that open fails with EWOULDBLOCK and we get
 * the lease-break signal (SIGIO by default) for the descriptor. */
#include "corpus.h"

static volatile sig_atomic_t broke;
static void on_io(int s) {
  (void)s;
  broke = 1;
}

static int probe(void* u) {
  (void)u;
  int fd = open("lease.dat", O_RDONLY | O_NONBLOCK);
  if (fd >= 0) return 11;
  return errno == EWOULDBLOCK ? 0 : 12;
}

int main(void) {
  int fd = SYS(open("lease.dat", O_RDONLY | O_CREAT | O_TRUNC, 0600));
  signal(SIGIO, on_io);
  if (fcntl(fd, F_SETLEASE, F_RDLCK) && errno == EINVAL) skip("leases not supported here");
  SYS(fcntl(fd, F_SETLEASE, F_UNLCK));
  /* a write lease needs no other open of the file: we hold only this O_RDONLY one */
  close(fd);
  fd = SYS(open("lease.dat", O_RDONLY));
  if (fcntl(fd, F_SETLEASE, F_WRLCK)) {
    if (errno == EAGAIN || errno == EACCES) skip("write lease refused: %s", strerror(errno));
    fail("F_SETLEASE F_WRLCK: %s", strerror(errno));
  }

  ready_wait();

  int l = fcntl(fd, F_GETLEASE);
  CHECK(l == F_WRLCK, "F_GETLEASE is %d, want F_WRLCK (%d)", l, F_WRLCK);
  int rc = in_child(probe, NULL);
  CHECK(rc != 11, "another process opened the file without breaking a lease: the lease is gone");
  CHECK(rc == 0, "lease probe failed with code %d", rc);
  for (int i = 0; i < 300 && !broke; i++) usleep(10000);
  CHECK(broke, "no lease-break signal");
  pass();
}
