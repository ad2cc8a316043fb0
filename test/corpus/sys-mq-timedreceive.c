/* mq_timedreceive on an empty POSIX message queue with an absolute deadline 60 s away
 * (CLOCK_REALTIME); only the go line (read by a thread, which then sends one message) may end it.
 * It must return that message, never EINTR, and never ETIMEDOUT early. */
#include "corpus.h"
#include <mqueue.h>

static char name[64];
static mqd_t q;
static void rm(void) { mq_unlink(name); }
static void send1(void) {
  if (mq_send(q, "wake", 4, 3)) fail("mq_send: %s", strerror(errno));
}

int main(void) {
  snprintf(name, sizeof name, "/amber-mqtr-%d", (int)getpid());
  struct mq_attr a = {.mq_maxmsg = 4, .mq_msgsize = 16};
  q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a);
  if (q == (mqd_t)-1) skip("mq_open: %s", strerror(errno));
  on_exit_cleanup(rm);
  ready();
  line_thread(send1);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 60;
  char b[16];
  unsigned prio = 0;
  double t0 = now_mono();
  ssize_t n = mq_timedreceive(q, b, sizeof b, &prio, &dl);
  double dt = now_mono() - t0;
  CHECK(n >= 0, "mq_timedreceive: %s after %.3f s", strerror(errno), dt);
  CHECK(line_seen, "mq_timedreceive returned before the go line");
  CHECK(n == 4 && !memcmp(b, "wake", 4) && prio == 3, "mq_timedreceive got %zd bytes prio %u", n, prio);
  pass();
}
