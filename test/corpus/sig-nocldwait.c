/* SIGCHLD with SA_NOCLDWAIT|SA_NOCLDSTOP and a handler (children are reaped by the kernel, no
 * zombies; stops do not raise SIGCHLD): a child alive across the checkpoint. After restart, when
 * it exits, our handler runs, no zombie remains (waitpid gives ECHILD), and a stopped child does
 * not raise SIGCHLD. */
#include "corpus.h"

static volatile sig_atomic_t chld;
static void on_chld(int s) { (void)s; chld++; }

int main(void) {
  struct sigaction sa = {.sa_handler = on_chld, .sa_flags = SA_NOCLDWAIT | SA_NOCLDSTOP | SA_RESTART};
  SYS(sigaction(SIGCHLD, &sa, NULL));
  int go[2];
  SYS(pipe(go));
  pid_t c = SYS(fork());
  if (c == 0) {
    char x;
    if (read(go[0], &x, 1) != 1) _exit(2);
    _exit(0);
  }
  peer(c);

  ready_wait();

  struct sigaction now;
  SYS(sigaction(SIGCHLD, NULL, &now));
  CHECK((now.sa_flags & (SA_NOCLDWAIT | SA_NOCLDSTOP)) == (SA_NOCLDWAIT | SA_NOCLDSTOP), "SIGCHLD flags %#x lost NOCLDWAIT/NOCLDSTOP", now.sa_flags);
  write_all(go[1], "x", 1);
  double s = now_mono();
  while (!chld && now_mono() - s < 5) usleep(1000);
  CHECK(chld == 1, "SIGCHLD handler ran %d times after the child exited, want 1", (int)chld);
  for (int i = 0; i < 500 && kill(c, 0) == 0; i++) usleep(1000);
  CHECK(kill(c, 0) == -1 && errno == ESRCH, "the exited child is still there (a zombie): NOCLDWAIT lost");
  CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "waitpid found a child to reap");
  pid_t d = SYS(fork());
  if (d == 0) {
    raise(SIGSTOP);
    _exit(0);
  }
  usleep(100000);
  int before = chld;
  kill(d, SIGKILL);
  s = now_mono();
  while (chld == before && now_mono() - s < 5) usleep(1000);
  CHECK(chld == before + 1, "the stop or the death of a second child raised %d SIGCHLDs, want 1 (the death only)", (int)(chld - before));
  pass();
}
