/* Resource limits of a child, set by the child itself with soft below hard: RLIMIT_NOFILE 300/900,
 * RLIMIT_STACK 4 MiB/16 MiB, RLIMIT_CORE 0/1 MiB, RLIMIT_NPROC soft 5000 under its hard,
 * RLIMIT_MSGQUEUE 100000/200000. After restart the child reads each back the same (and a
 * descriptor past 300 still fails with EMFILE), and the parent's prlimit(child pid) reads the
 * same NOFILE pair (the pid fork returned still names that child). */
#include "corpus.h"
#include <sys/resource.h>

struct lim { int res; rlim_t soft, hard; };

int main(void) {
  struct rlimit np;
  SYS(getrlimit(RLIMIT_NPROC, &np));
  rlim_t nph = np.rlim_max == RLIM_INFINITY || np.rlim_max > 100000 ? 100000 : np.rlim_max;
  if (nph <= 5000) skip("RLIMIT_NPROC hard limit %lu too low", (unsigned long)nph);
  struct rlimit nf;
  SYS(getrlimit(RLIMIT_NOFILE, &nf));
  if (nf.rlim_max < 900) skip("RLIMIT_NOFILE hard limit %lu below 900", (unsigned long)nf.rlim_max);
  struct rlimit sk;
  SYS(getrlimit(RLIMIT_STACK, &sk));
  if (sk.rlim_max != RLIM_INFINITY && sk.rlim_max < 16 << 20) skip("RLIMIT_STACK hard limit too low");
  struct rlimit mq;
  SYS(getrlimit(RLIMIT_MSGQUEUE, &mq));
  if (mq.rlim_max != RLIM_INFINITY && mq.rlim_max < 200000) skip("RLIMIT_MSGQUEUE hard limit too low");
  struct lim L[5] = {{RLIMIT_NOFILE, 300, 900}, {RLIMIT_STACK, 4 << 20, 16 << 20}, {RLIMIT_CORE, 0, 1 << 20},
                     {RLIMIT_NPROC, 5000, nph}, {RLIMIT_MSGQUEUE, 100000, 200000}};
  int ctl[2], rep[2];
  SYS(pipe(ctl));
  SYS(pipe(rep));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(ctl[1]);
    for (int i = 0; i < 5; i++) {
      struct rlimit r = {L[i].soft, L[i].hard};
      if (setrlimit(L[i].res, &r)) _exit(20 + i);
    }
    write_all(rep[1], "s", 1);
    char c;
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    for (int i = 0; i < 5; i++) {
      struct rlimit r;
      if (getrlimit(L[i].res, &r) || r.rlim_cur != L[i].soft || r.rlim_max != L[i].hard) _exit(30 + i);
    }
    if (dup2(0, 300) >= 0 || errno != EBADF) _exit(40);
    _exit(0);
  }
  peer(kid);
  close(ctl[0]);
  char c;
  read_exact(rep[0], &c, 1, "the child's word that its limits are set");

  ready_wait();

  struct rlimit r;
  CHECK(!prlimit(kid, RLIMIT_NOFILE, NULL, &r), "prlimit(child %d): %s", (int)kid, strerror(errno));
  CHECK(r.rlim_cur == 300 && r.rlim_max == 900, "prlimit(child) NOFILE %lu/%lu, want 300/900", (unsigned long)r.rlim_cur, (unsigned long)r.rlim_max);
  write_all(ctl[1], "g", 1);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "the child failed: status %#x (30+i: limit i differs, in order NOFILE STACK CORE NPROC MSGQUEUE; 40: fd 300 allowed)", st);
  pass();
}
