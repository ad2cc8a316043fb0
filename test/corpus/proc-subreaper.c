/* A child subreaper (PR_SET_CHILD_SUBREAPER): our child forked a grandchild and exited, so the
 * grandchild was reparented to us. After restart we are still a subreaper, the grandchild's
 * parent is still us, and when it exits (status 17) we reap it by the pid it had. */
#include "corpus.h"
#include <sys/prctl.h>

int main(void) {
  SYS(prctl(PR_SET_CHILD_SUBREAPER, 1));
  int pp[2], go[2], rep[2];
  SYS(pipe(pp));
  SYS(pipe(go));
  SYS(pipe(rep));
  pid_t me = getpid();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    pid_t g = fork();
    if (g < 0) _exit(2);
    if (g == 0) {
      char c;
      /* wait until reparented to us */
      for (int i = 0; i < 10000 && getppid() != me; i++) usleep(1000);
      if (read(go[0], &c, 1) != 1) _exit(90);
      pid_t pp2 = getppid();
      write_all(rep[1], &pp2, sizeof pp2);
      _exit(17);
    }
    write_all(pp[1], &g, sizeof g);
    _exit(0);
  }
  pid_t g;
  read_exact(pp[0], &g, sizeof g, "grandchild pid");
  int st;
  SYS(waitpid(kid, &st, 0));
  peer(g);

  ready_wait();

  int on = -1;
  SYS(prctl(PR_GET_CHILD_SUBREAPER, &on));
  CHECK(on == 1, "PR_GET_CHILD_SUBREAPER is %d, want 1", on);
  write_all(go[1], "x", 1);
  pid_t seen;
  read_exact(rep[0], &seen, sizeof seen, "grandchild report");
  CHECK(seen == me, "the grandchild's parent is %d, want us (%d)", (int)seen, (int)me);
  pid_t r = waitpid(-1, &st, 0);
  CHECK(r == g, "waitpid(-1) reaped %d (%s), want the grandchild %d", (int)r, r < 0 ? strerror(errno) : "", (int)g);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 17, "grandchild status %#x, want exit 17", st);
  pass();
}
