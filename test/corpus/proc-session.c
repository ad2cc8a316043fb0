/* Sessions and process groups: child A called setsid (its own session and group), child B leads a
 * new group in our session, child C joined B's group. After restart getsid/getpgid of us, A, B
 * and C read the same from our side and each child reports the same from its own side, and a
 * signal to B's group reaches B and C (not A). */
#include "corpus.h"

static int rep[2];
static void report(char who, int q) {
  char c;
  for (;;) {
    if (read(q, &c, 1) != 1) _exit(0);
    if (c == 'k') break;
    pid_t v[3] = {getpid(), getpgrp(), getsid(0)};
    write_all(rep[1], &who, 1);
    write_all(rep[1], v, sizeof v);
  }
}

static volatile sig_atomic_t hit;
static void on_usr1(int s) { hit = s; }

int main(void) {
  int qa[2], qb[2], qc[2], sig[2];
  SYS(pipe(rep));
  SYS(pipe(qa));
  SYS(pipe(qb));
  SYS(pipe(qc));
  SYS(pipe(sig));
  signal(SIGUSR1, SIG_IGN);
  pid_t kids[3];
  int* qs[3] = {qa, qb, qc};
  for (int i = 0; i < 3; i++) {
    int sync[2];
    SYS(pipe(sync));
    pid_t k = SYS(fork());
    if (k == 0) {
      if (i == 0) setsid();
      if (i == 1) setpgid(0, 0);
      if (i == 2) setpgid(0, kids[1]);
      struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
      sigaction(SIGUSR1, &sa, NULL);
      write_all(sync[1], "s", 1);
      report((char)('A' + i), qs[i][0]);
      /* after 'k': say whether SIGUSR1 arrived */
      for (int t = 0; t < 100 && !hit; t++) usleep(5000);
      char h = hit ? 'Y' : 'N';
      write_all(sig[1], &h, 1);
      _exit(0);
    }
    kids[i] = k;
    peer(k);
    char c;
    read_exact(sync[0], &c, 1, "child set up");
    close(sync[0]);
    close(sync[1]);
  }
  pid_t want[4][2] = {{getpgrp(), getsid(0)}};
  for (int i = 0; i < 3; i++) want[i + 1][0] = getpgid(kids[i]), want[i + 1][1] = getsid(kids[i]);
  if (want[1][0] != kids[0] || want[1][1] != kids[0] || want[2][0] != kids[1] || want[3][0] != kids[1] || want[2][1] != want[0][1])
    fail("setup: groups/sessions not as arranged");

  ready_wait();

  CHECK(getpgrp() == want[0][0] && getsid(0) == want[0][1], "our group/session %d/%d, want %d/%d", (int)getpgrp(), (int)getsid(0),
        (int)want[0][0], (int)want[0][1]);
  for (int i = 0; i < 3; i++) {
    pid_t g = getpgid(kids[i]), s = getsid(kids[i]);
    CHECK(g == want[i + 1][0] && s == want[i + 1][1], "child %c seen from us: group/session %d/%d, want %d/%d", 'A' + i, (int)g, (int)s,
          (int)want[i + 1][0], (int)want[i + 1][1]);
    write_all(qs[i][1], "?", 1);
    char who;
    pid_t v[3];
    read_exact(rep[0], &who, 1, "report");
    read_exact(rep[0], v, sizeof v, "report");
    CHECK(who == 'A' + i && v[0] == kids[i] && v[1] == want[i + 1][0] && v[2] == want[i + 1][1],
          "child %c says pid/group/session %d/%d/%d, want %d/%d/%d", 'A' + i, (int)v[0], (int)v[1], (int)v[2], (int)kids[i],
          (int)want[i + 1][0], (int)want[i + 1][1]);
  }
  CHECK(!kill(-kids[1], SIGUSR1), "kill(-group of B): %s", strerror(errno));
  char got[3];
  for (int i = 0; i < 3; i++) {
    write_all(qs[i][1], "k", 1);
    read_exact(sig[0], &got[i], 1, "signal report");
  }
  for (int i = 0; i < 3; i++) waitpid(kids[i], NULL, 0);
  /* reports arrive in order A, B, C since each child answers only after its own 'k' */
  CHECK(got[0] == 'N' && got[1] == 'Y' && got[2] == 'Y', "SIGUSR1 to B's group reached A:%c B:%c C:%c, want N Y Y", got[0], got[1], got[2]);
  pass();
}
