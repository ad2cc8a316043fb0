/* A signalfd for {SIGUSR1, SIGUSR2} (both blocked), SIGUSR2 already pending: after restart the
 * pending SIGUSR2 is read from the signalfd with our pid as sender, nothing else is pending, the
 * mask (fdinfo "sigmask") is the same, and a new SIGUSR1 arrives through it. */
#include "corpus.h"
#include <poll.h>
#include <sys/signalfd.h>

static void fdinfo_mask(int fd, char* out, size_t cap) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  if (proc_status_field(p, "sigmask", out, cap)) snprintf(out, cap, "?");
}

int main(void) {
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, SIGUSR2);
  SYS(sigprocmask(SIG_BLOCK, &m, NULL));
  int fd = SYS(signalfd(-1, &m, SFD_NONBLOCK));
  pid_t me = getpid();
  kill(me, SIGUSR2);
  char mask0[64];
  fdinfo_mask(fd, mask0, sizeof mask0);

  ready_wait();

  char mask1[64];
  fdinfo_mask(fd, mask1, sizeof mask1);
  CHECK(!strcmp(mask0, mask1), "signalfd mask %s, want %s", mask1, mask0);
  struct signalfd_siginfo si;
  ssize_t n = read(fd, &si, sizeof si);
  CHECK(n == sizeof si, "the pending SIGUSR2 is gone (%s)", n < 0 ? strerror(errno) : "short read");
  CHECK(si.ssi_signo == SIGUSR2, "read signal %u, want SIGUSR2", si.ssi_signo);
  CHECK((pid_t)si.ssi_pid == me, "sender pid %u, want %d", si.ssi_pid, (int)me);
  CHECK(read(fd, &si, sizeof si) < 0 && errno == EAGAIN, "another signal was pending (%u)", si.ssi_signo);
  kill(getpid(), SIGUSR1);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  CHECK(poll(&p, 1, 2000) == 1, "a new SIGUSR1 did not make the signalfd readable");
  CHECK(read(fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1, "read %u, want SIGUSR1", si.ssi_signo);
  pass();
}
