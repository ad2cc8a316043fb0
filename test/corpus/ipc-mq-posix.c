/* A POSIX message queue (mq_open, maxmsg 5, msgsize 64) holding three messages of priorities 1, 7
 * and 3, opened O_NONBLOCK: after restart mq_getattr reads back the same attributes (3 current
 * messages, O_NONBLOCK), the messages come out by priority (7, 3, 1) with their bytes, and an
 * empty receive gives EAGAIN. */
#include "corpus.h"
#include <mqueue.h>

static char name[64];
static void rm(void) { mq_unlink(name); }

int main(void) {
  snprintf(name, sizeof name, "/corpus-mq-%d", (int)getpid());
  struct mq_attr at = {.mq_maxmsg = 5, .mq_msgsize = 64};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &at);
  if (q == (mqd_t)-1) skip("mq_open: %s", strerror(errno));
  on_exit_cleanup(rm);
  SYS(mq_send(q, "low", 3, 1));
  SYS(mq_send(q, "high priority", 13, 7));
  SYS(mq_send(q, "mid", 3, 3));

  ready_wait();

  struct mq_attr now;
  CHECK(!mq_getattr(q, &now), "mq_getattr: %s (not a message queue any more)", strerror(errno));
  CHECK(now.mq_maxmsg == 5 && now.mq_msgsize == 64, "maxmsg/msgsize %ld/%ld, want 5/64", now.mq_maxmsg, now.mq_msgsize);
  CHECK(now.mq_curmsgs == 3, "%ld messages, want 3", now.mq_curmsgs);
  CHECK(now.mq_flags & O_NONBLOCK, "O_NONBLOCK is gone");
  const char* want[3] = {"high priority", "mid", "low"};
  unsigned prio[3] = {7, 3, 1};
  for (int i = 0; i < 3; i++) {
    char b[64];
    unsigned p = 0;
    ssize_t n = mq_receive(q, b, sizeof b, &p);
    CHECK(n >= 0, "receive %d: %s", i + 1, strerror(errno));
    CHECK((size_t)n == strlen(want[i]) && !memcmp(b, want[i], (size_t)n) && p == prio[i], "receive %d: %zd bytes priority %u, want '%s' %u", i + 1, n,
          p, want[i], prio[i]);
  }
  char b[64];
  CHECK(mq_receive(q, b, sizeof b, NULL) < 0 && errno == EAGAIN, "an empty non-blocking receive did not give EAGAIN");
  mqd_t again = mq_open(name, O_RDONLY);
  CHECK(again != (mqd_t)-1, "the queue is no longer at its name: %s", strerror(errno));
  pass();
}
