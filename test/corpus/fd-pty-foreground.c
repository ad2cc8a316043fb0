/* A pty session as a shell makes one: our child is a session leader with the slave as its
 * controlling terminal, and has put its own child (a job, in a group of its own) in the
 * foreground with tcsetpgrp; we hold the master. After restart TIOCGPGRP on the master names the
 * job's group and TIOCGSID the child's session (both as this program knows the ids), the child
 * reads the same with tcgetpgrp/tcgetsid on the slave, and ^C typed into the master reaches the
 * job's group only (the job reports SIGINT; the session leader, in the background, gets none). */
#include "corpus.h"
#include <poll.h>
#include <sys/ioctl.h>

static int rep[2];
static void on_int_job(int s) { (void)s; write_all(rep[1], "J", 1); }
static void on_int_leader(int s) { (void)s; write_all(rep[1], "L", 1); }

int main(void) {
  int s0;
  int m = pty_pair(0, 0, &s0);
  close(s0);
  char name[128];
  snprintf(name, sizeof name, "%s", ptsname(m));
  int q[2], a[2];
  SYS(pipe(rep));
  SYS(pipe(q));
  SYS(pipe(a));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(m);
    if (setsid() < 0) _exit(2);
    int s = open(name, O_RDWR);
    if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0) _exit(3);
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag |= ISIG;
    tcsetattr(s, TCSANOW, &t);
    signal(SIGTTOU, SIG_IGN);
    signal(SIGINT, on_int_leader);
    int ack[2];
    if (pipe(ack)) _exit(4);
    pid_t job = fork();
    if (job == 0) {
      setpgid(0, 0);
      signal(SIGINT, on_int_job);
      write_all(ack[1], "j", 1); /* its own handler is in place (until then it has the leader's) */
      for (;;) pause();
    }
    setpgid(job, job);
    if (tcsetpgrp(s, job)) _exit(6);
    char c;
    if (read(ack[0], &c, 1) != 1) _exit(5);
    pid_t ids[2] = {job, getpid()};
    write_all(a[1], ids, sizeof ids);
    for (;;) {
      char c;
      if (read(q[0], &c, 1) != 1) _exit(0);
      pid_t now[4] = {tcgetpgrp(s), tcgetsid(s), job, getsid(0)};
      write_all(a[1], now, sizeof now);
    }
  }
  peer(kid);
  pid_t ids[2];
  read_exact(a[0], ids, sizeof ids, "the session's ids");
  pid_t job = ids[0];
  if (ids[1] != kid) fail("setup: the child calls itself %d, we call it %d", (int)ids[1], (int)kid);
  peer(job); /* ours to kill too: it is a grandchild */
  pid_t pg = -1;
  SYS(ioctl(m, TIOCGPGRP, &pg));
  if (pg != job) fail("setup: TIOCGPGRP %d, want the job %d", (int)pg, (int)job);

  ready_wait();

  pg = -1;
  CHECK(!ioctl(m, TIOCGPGRP, &pg), "TIOCGPGRP: %s", strerror(errno));
  CHECK(pg == job, "TIOCGPGRP on the master %d, want the job's group %d", (int)pg, (int)job);
  pid_t sid = -1;
  CHECK(!ioctl(m, TIOCGSID, &sid), "TIOCGSID: %s", strerror(errno));
  CHECK(sid == kid, "TIOCGSID on the master %d, want the child's session %d", (int)sid, (int)kid);
  write_all(q[1], "q", 1);
  pid_t now[4];
  read_exact(a[0], now, sizeof now, "the child's view");
  CHECK(now[0] == now[2], "the child's tcgetpgrp %d, want its job %d", (int)now[0], (int)now[2]);
  CHECK(now[1] == now[3], "the child's tcgetsid %d, want its session %d", (int)now[1], (int)now[3]);
  write_all(m, "\003", 1);
  struct pollfd p = {.fd = rep[0], .events = POLLIN};
  CHECK(poll(&p, 1, 5000) == 1, "^C: no SIGINT reached the foreground job within 5 s");
  char c;
  read_exact(rep[0], &c, 1, "report");
  CHECK(c == 'J', "^C reached the session leader (background), not the job");
  CHECK(poll(&p, 1, 300) == 0, "^C reached a second process");
  pass();
}
