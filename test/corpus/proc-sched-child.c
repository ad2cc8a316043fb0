/* The scheduling policy and parameters of a forked child read by the pid fork returned:
 * sched_getscheduler(child) SCHED_BATCH (set by the child itself), sched_getparam priority 0,
 * sched_rr_get_interval works, and a sched_setscheduler(child, SCHED_IDLE) from the parent after
 * the restart lands on that child (it reports its own policy) — and on no other process. */
#include "corpus.h"
#include <sched.h>

int main(void) {
  int cmd[2], ack[2];
  SYS(pipe(cmd));
  SYS(pipe(ack));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    struct sched_param sp = {.sched_priority = 0};
    char c = sched_setscheduler(0, SCHED_BATCH, &sp) == 0 ? 'r' : 'e';
    if (write(ack[1], &c, 1) != 1) _exit(2);
    for (;;) {
      if (read(cmd[0], &c, 1) != 1) _exit(0);
      c = (char)('0' + sched_getscheduler(0));
      if (write(ack[1], &c, 1) != 1) _exit(3);
    }
  }
  peer(kid);
  char c;
  CHECK(read(ack[0], &c, 1) == 1, "the child did not start");
  if (c != 'r') skip("sched_setscheduler(SCHED_BATCH) failed in the child");
  int mine = sched_getscheduler(0);
  CHECK(sched_getscheduler(kid) == SCHED_BATCH, "before: sched_getscheduler(child) = %d", sched_getscheduler(kid));
  ready_wait();
  int p = sched_getscheduler(kid);
  CHECK(p == SCHED_BATCH, "after: sched_getscheduler(child %d) = %d (%s), the child set SCHED_BATCH", (int)kid, p,
        p < 0 ? strerror(errno) : "another process's policy?");
  struct sched_param sp = {.sched_priority = 99};
  CHECK(sched_getparam(kid, &sp) == 0 && sp.sched_priority == 0, "after: sched_getparam(child): %s prio %d", strerror(errno),
        sp.sched_priority);
  struct timespec ts;
  CHECK(sched_rr_get_interval(kid, &ts) == 0, "after: sched_rr_get_interval(child): %s", strerror(errno));
  sp.sched_priority = 0;
  CHECK(sched_setscheduler(kid, SCHED_IDLE, &sp) == 0, "after: sched_setscheduler(child, IDLE): %s", strerror(errno));
  SYS(write(cmd[1], "q", 1));
  CHECK(read(ack[0], &c, 1) == 1 && c == '0' + SCHED_IDLE, "the child reports policy %c after we set SCHED_IDLE", c);
  CHECK(sched_getscheduler(0) == mine, "our own policy changed to %d", sched_getscheduler(0));
  pass();
}
