/* killpg() of a process group made before the checkpoint: two children in a group of their own
 * (the first one's pid), each reporting SIGUSR1 on a pipe. After the restart killpg(group) must
 * reach both (glibc's killpg calls kill inside libc, past any kill interposition), and
 * killpg(-1 or a group that does not exist) fail as the kernel says. */
#include "corpus.h"

static int rep[2];
static void on_usr1(int s) {
  (void)s;
  char c = 'u';
  if (write(rep[1], &c, 1) != 1) _exit(3);
}

static pid_t kid(pid_t pgid, int hold) {
  pid_t p = SYS(fork());
  if (p == 0) {
    signal(SIGUSR1, on_usr1);
    if (setpgid(0, pgid)) _exit(4);
    char c = 'r';
    if (write(rep[1], &c, 1) != 1) _exit(3);
    for (;;) pause();
  }
  (void)hold;
  setpgid(p, pgid ? pgid : p);  // both sides, as a shell does
  return p;
}

int main(void) {
  SYS(pipe(rep));
  pid_t a = kid(0, 0);
  peer(a);
  pid_t b = kid(a, 0);
  peer(b);
  char c;
  read_exact(rep[0], &c, 1, "first child ready");
  read_exact(rep[0], &c, 1, "second child ready");
  CHECK(getpgid(a) == a && getpgid(b) == a, "groups %d %d, want %d", (int)getpgid(a), (int)getpgid(b), (int)a);
  ready_wait();
  CHECK(getpgid(b) == a, "the second child's group is %d after the restart, want %d", (int)getpgid(b), (int)a);
  CHECK(killpg(a, SIGUSR1) == 0, "killpg(%d): %s", (int)a, strerror(errno));
  char got[2];
  read_exact(rep[0], got, 2, "both children's SIGUSR1");
  CHECK(got[0] == 'u' && got[1] == 'u', "children reported %c%c", got[0], got[1]);
  errno = 0;
  CHECK(killpg(0x3ffffff0, 0) == -1 && errno == ESRCH, "killpg of a group nobody has: %s", strerror(errno));
  errno = 0;
  CHECK(killpg(-1, 0) == -1 && errno == EINVAL, "killpg(-1): %s, want EINVAL", strerror(errno));
  pass();
}
