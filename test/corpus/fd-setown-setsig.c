/* A Unix socket with O_ASYNC, F_SETOWN (our pid) and F_SETSIG (SIGRTMIN+4, handled with
 * SA_SIGINFO): after restart F_GETOWN is still our pid, F_GETSIG the same signal, O_ASYNC still
 * set, and data arriving raises that signal with si_fd naming the socket. */
#include "corpus.h"
#include <sys/socket.h>

static volatile sig_atomic_t got_fd = -1, got_band;
static void on_sig(int s, siginfo_t* si, void* u) {
  (void)s;
  (void)u;
  got_fd = si->si_fd;
  got_band = (sig_atomic_t)si->si_band;
}

int main(void) {
  int sv[2];
  SYS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO | SA_RESTART};
  SYS(sigaction(SIGRTMIN + 4, &sa, NULL));
  SYS(fcntl(sv[0], F_SETOWN, getpid()));
  SYS(fcntl(sv[0], F_SETSIG, SIGRTMIN + 4));
  SYS(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_ASYNC | O_NONBLOCK));

  ready_wait();

  CHECK(fcntl(sv[0], F_GETOWN) == getpid(), "F_GETOWN is %d, want our pid %d", fcntl(sv[0], F_GETOWN), (int)getpid());
  CHECK(fcntl(sv[0], F_GETSIG) == SIGRTMIN + 4, "F_GETSIG is %d, want %d", fcntl(sv[0], F_GETSIG), SIGRTMIN + 4);
  CHECK(fcntl(sv[0], F_GETFL) & O_ASYNC, "O_ASYNC is gone");
  got_fd = -1;
  write_all(sv[1], "x", 1);
  for (int i = 0; i < 600 && got_fd < 0; i++) usleep(5000);
  CHECK(got_fd == sv[0], "signal for incoming data: si_fd %d, want %d", (int)got_fd, sv[0]);
  pass();
}
