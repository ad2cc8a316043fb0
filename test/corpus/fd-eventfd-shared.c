/* One eventfd shared by fork (a parent and a worker signalling each other through one counter),
 * counter 5 at the checkpoint. After restart it is still one counter: what the child adds we
 * read (5 + 7 = 12, in one read), and kcmp says the two descriptors are one file. */
#include "corpus.h"
#include <poll.h>
#include <sys/eventfd.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>

int main(void) {
  int e = SYS(eventfd(5, EFD_NONBLOCK));
  int q[2], a[2];
  SYS(pipe(q));
  SYS(pipe(a));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    while (read(q[0], &c, 1) == 1) {
      uint64_t v = 7;
      if (write(e, &v, 8) != 8) _exit(2);
      write_all(a[1], "w", 1);
    }
    _exit(0);
  }
  peer(kid);

  ready_wait();

  long k = syscall(SYS_kcmp, getpid(), kid, KCMP_FILE, e, e);
  CHECK(k == 0 || (k < 0 && (errno == ENOSYS || errno == EPERM)), "kcmp(us, child, FILE, %d, %d) = %ld: two eventfds now", e, e, k);
  write_all(q[1], "g", 1);
  char c;
  read_exact(a[0], &c, 1, "child wrote");
  uint64_t v = 0;
  CHECK(read(e, &v, 8) == 8, "read: %s", strerror(errno));
  CHECK(v == 12, "counter %llu, want 12 (5 before the checkpoint + 7 the child added)", (unsigned long long)v);
  pass();
}
