/* A pipe whose read end has O_ASYNC and F_SETOWN to a process group (negative: our child's own
 * group, made with setpgid): SIGIO goes to every member of the group. After restart F_GETOWN is
 * still minus that group's id and F_GETOWN_EX says F_OWNER_PGRP with the same id (as this program
 * knows it), and a write to the pipe raises SIGIO in the child (which reports it on a second pipe),
 * not in us. */
#include "corpus.h"
#include <poll.h>

static volatile sig_atomic_t ours;
static void on_io(int s) { (void)s; ours++; }

int main(void) {
  int p[2], rep[2];
  SYS(pipe(p));
  SYS(pipe(rep));
  int ok[2];
  SYS(pipe(ok));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    setpgid(0, 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGIO);
    sigprocmask(SIG_BLOCK, &s, NULL);
    write_all(ok[1], "k", 1);
    for (;;) {
      int sig;
      if (sigwait(&s, &sig)) _exit(2);
      write_all(rep[1], "S", 1);
    }
  }
  peer(kid);
  char b;
  read_exact(ok[0], &b, 1, "child ready");
  setpgid(kid, kid); /* also from here, so the group exists whichever runs first */
  if (getpgid(kid) != kid) fail("setup: the child's group is %d, want %d", (int)getpgid(kid), (int)kid);
  signal(SIGIO, on_io);
  SYS(fcntl(p[0], F_SETOWN, -kid));
  SYS(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC | O_NONBLOCK));
  struct f_owner_ex ox0;
  SYS(fcntl(p[0], F_GETOWN_EX, &ox0));
  if (ox0.type != F_OWNER_PGRP || ox0.pid != kid) fail("setup: F_GETOWN_EX type %d pid %d", ox0.type, (int)ox0.pid);

  ready_wait();

  int own = fcntl(p[0], F_GETOWN);
  CHECK(own == -kid, "F_GETOWN %d, want %d (minus the child's group)", own, (int)-kid);
  struct f_owner_ex ox;
  CHECK(!fcntl(p[0], F_GETOWN_EX, &ox), "F_GETOWN_EX: %s", strerror(errno));
  CHECK(ox.type == F_OWNER_PGRP && ox.pid == kid, "F_GETOWN_EX type %d pid %d, want F_OWNER_PGRP %d", ox.type, (int)ox.pid,
        (int)kid);
  CHECK(fcntl(p[0], F_GETFL) & O_ASYNC, "O_ASYNC is gone");
  CHECK(getpgid(kid) == kid, "the child's group is %d, want %d", (int)getpgid(kid), (int)kid);
  write_all(p[1], "x", 1);
  struct pollfd q = {.fd = rep[0], .events = POLLIN};
  CHECK(poll(&q, 1, 5000) == 1, "no SIGIO reached the child's group within 5 s");
  read_exact(rep[0], &b, 1, "report");
  CHECK(ours == 0, "SIGIO came to us (%d), not only to the owner group", (int)ours);
  pass();
}
