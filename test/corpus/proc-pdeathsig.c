/* PR_SET_PDEATHSIG in a grandchild: we fork M, M forks C, C asks for SIGUSR1 when its parent dies.
 * After restart C still has it (PR_GET_PDEATHSIG, reported by C), and when we tell M to exit, C
 * receives SIGUSR1 and reports it to us. */
#include "corpus.h"
#include <poll.h>
#include <sys/prctl.h>

static int rep_w;
static void on_usr1(int s) {
  char c = (char)s;
  ssize_t w = write(rep_w, &c, 1);
  (void)w;
  _exit(0);
}

int main(void) {
  int mgo[2], cq[2], rep[2], cpid[2];
  SYS(pipe(mgo));
  SYS(pipe(cq));
  SYS(pipe(rep));
  SYS(pipe(cpid));
  pid_t m = SYS(fork());
  if (m == 0) {
    pid_t mp = getpid();
    pid_t c = fork();
    if (c == 0) {
      rep_w = rep[1];
      signal(SIGUSR1, on_usr1);
      if (prctl(PR_SET_PDEATHSIG, SIGUSR1) || getppid() != mp) _exit(3);
      write_all(cpid[1], "c", 1);
      char q;
      /* a query: answer with the current pdeathsig */
      while (read(cq[0], &q, 1) == 1) {
        int sig = 0;
        prctl(PR_GET_PDEATHSIG, &sig);
        char a = (char)sig;
        write_all(rep[1], &a, 1);
      }
      for (;;) pause();
    }
    char x;
    if (read(mgo[0], &x, 1) != 1) _exit(8);
    _exit(0);
  }
  peer(m);
  char x;
  read_exact(cpid[0], &x, 1, "grandchild ready");

  ready_wait();

  write_all(cq[1], "?", 1);
  char a = 0;
  struct pollfd p = {.fd = rep[0], .events = POLLIN};
  CHECK(poll(&p, 1, 5000) == 1, "the grandchild does not answer");
  read_exact(rep[0], &a, 1, "pdeathsig answer");
  CHECK(a == SIGUSR1, "the grandchild's PR_GET_PDEATHSIG is %d, want SIGUSR1 (%d)", a, SIGUSR1);
  write_all(mgo[1], "x", 1);
  int st;
  CHECK(waitpid(m, &st, 0) == m && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the middle process ended with %#x", st);
  CHECK(poll(&p, 1, 5000) == 1, "the grandchild got no signal when its parent died");
  read_exact(rep[0], &a, 1, "death signal");
  CHECK(a == SIGUSR1, "the grandchild got signal %d, want SIGUSR1", a);
  pass();
}
