/* poll(-1) on a pidfd of our child across the checkpoint: the pidfd is readable only when the child
 * exits, which it does (status 12) after reading the go line. poll must return 1 with POLLIN then
 * (never EINTR, never a spurious return while the child lives), and waitpid reaps status 12. */
#include "corpus.h"
#include <poll.h>
#include <sys/syscall.h>

int main(void) {
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    read_line();
    _exit(12);
  }
  peer(kid);
  int pfd = (int)syscall(SYS_pidfd_open, kid, 0);
  if (pfd < 0) fail("pidfd_open(%d): %s", (int)kid, strerror(errno));
  struct pollfd p = {.fd = pfd, .events = POLLIN};
  int n = poll(&p, 1, -1);
  CHECK(n >= 0, "poll(pidfd): %s", strerror(errno));
  CHECK(n == 1 && (p.revents & POLLIN), "poll(pidfd) returned %d revents %#x", n, p.revents);
  int st;
  pid_t w = waitpid(kid, &st, WNOHANG);
  CHECK(w == kid && WIFEXITED(st) && WEXITSTATUS(st) == 12,
        "the pidfd was readable but waitpid(%d, WNOHANG) = %d status %#x (the child is not dead)", (int)kid, (int)w, st);
  corpus_npeers = 0;
  pass();
}
