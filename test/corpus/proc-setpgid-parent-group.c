/* setpgid of a child into its parent's group: we lead a group of our own (setpgid(0, 0)); the
 * child first moved into a group of its own, then the parent moved it back into ours with
 * setpgid(child, our group). After restart getpgid(child) is our group, the child reads the same
 * (getpgrp), and kill(0, SIGUSR1) — our group — reaches the child (it reports it). */
#include "corpus.h"

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got = 1; }

int main(void) {
  if (setpgid(0, 0)) skip("setpgid(0, 0): %s", strerror(errno));
  pid_t grp = getpgrp();
  int ctl[2], rep[2];
  SYS(pipe(ctl));
  SYS(pipe(rep));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    struct sigaction sa = {.sa_handler = on_usr1};
    sigaction(SIGUSR1, &sa, NULL);
    if (setpgid(0, 0)) _exit(20);
    write_all(rep[1], "o", 1);  /* in a group of its own, handler in place */
    char c;
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    pid_t g = getpgrp();
    write_all(rep[1], &g, sizeof g);
    while (!got) usleep(1000);
    write_all(rep[1], "u", 1);
    _exit(0);
  }
  peer(kid);
  char c;
  read_exact(rep[0], &c, 1, "the child's word");
  SYS(setpgid(kid, grp));
  CHECK(getpgid(kid) == grp, "setup: the child's group %d", (int)getpgid(kid));
  struct sigaction ign = {.sa_handler = SIG_IGN};
  SYS(sigaction(SIGUSR1, &ign, NULL));

  ready_wait();

  CHECK(getpgid(kid) == grp, "getpgid(child) is %d, want our group %d", (int)getpgid(kid), (int)grp);
  CHECK(getpgrp() == grp, "our group is %d, want %d", (int)getpgrp(), (int)grp);
  write_all(ctl[1], "g", 1);
  pid_t g;
  read_exact(rep[0], &g, sizeof g, "the child's getpgrp");
  CHECK(g == grp, "the child's getpgrp is %d, want %d", (int)g, (int)grp);
  SYS(kill(0, SIGUSR1));
  read_exact(rep[0], &c, 1, "the child's word that SIGUSR1 came");
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  pass();
}
