/* One POSIX message queue held by us and five children, ten messages queued (the default
 * fs.mqueue.msg_max): seven of one priority and three of a higher one. Every holder is checkpointed at the same moment; after the
 * restart the queue must give back the ten in the kernel's order (priority, then arrival),
 * none lost, none twice, none swapped, and a message sent after the restart comes last. */
#include "corpus.h"
#include <mqueue.h>

static char qname[64];
static void unlink_q(void) { mq_unlink(qname); }

int main(void) {
  snprintf(qname, sizeof qname, "/corpus-mqorder-%d", (int)getpid());
  struct mq_attr at = {.mq_maxmsg = 10, .mq_msgsize = 16};
  mqd_t q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
  if (q == (mqd_t)-1) skip("mq_open: %s", strerror(errno));
  on_exit_cleanup(unlink_q);
  for (int i = 0; i < 10; i++) {
    char m[16];
    int n = snprintf(m, sizeof m, "m%02d", i);
    SYS(mq_send(q, m, (size_t)n, i % 3 == 2 ? 7 : 1));
  }
  for (int k = 0; k < 5; k++) {
    pid_t c = SYS(fork());
    if (c == 0) {
      for (;;) pause();  // holds the queue; killed at the end
    }
    peer(c);
  }

  ready_wait();

  /* priority 7: m02 m05 m08; then priority 1 in arrival order */
  const char* want[10] = {"m02", "m05", "m08", "m00", "m01", "m03", "m04", "m06", "m07", "m09"};
  struct mq_attr now;
  SYS(mq_getattr(q, &now));
  CHECK(now.mq_curmsgs == 10, "%ld messages queued after restart, want 10", now.mq_curmsgs);
  for (int i = 0; i < 10; i++) {
    char b[16];
    unsigned p = 0;
    ssize_t n = mq_receive(q, b, sizeof b, &p);
    CHECK(n == 3 && !memcmp(b, want[i], 3), "message %d: %.*s (prio %u), want %s", i + 1, n > 0 ? (int)n : 0, b, p, want[i]);
  }
  SYS(mq_send(q, "new", 3, 1));
  char b[16];
  ssize_t n = mq_receive(q, b, sizeof b, NULL);
  CHECK(n == 3 && !memcmp(b, "new", 3), "a message sent after restart did not come back alone");
  pass();
}
