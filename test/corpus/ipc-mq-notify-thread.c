/* mq_notify with SIGEV_THREAD (glibc: a helper thread on a netlink socket of its own) on an empty
 * queue. After restart a send to the queue runs the notification function once, in a new thread,
 * with the registered sigev_value. */
#include "corpus.h"
#include <mqueue.h>

static char name[64];
static void rm(void) { mq_unlink(name); }
static volatile int calls, value;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void notified(union sigval v) {
  pthread_mutex_lock(&mu);
  calls++;
  value = v.sival_int;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

int main(void) {
  snprintf(name, sizeof name, "/corpus-mqt-%d", (int)getpid());
  struct mq_attr at = {.mq_maxmsg = 4, .mq_msgsize = 32};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
  if (q == (mqd_t)-1) skip("mq_open: %s", strerror(errno));
  on_exit_cleanup(rm);
  struct sigevent ev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = notified, .sigev_value.sival_int = 0x7ead};
  SYS(mq_notify(q, &ev));

  ready_wait();

  CHECK(calls == 0, "the notification ran with no message sent");
  CHECK(mq_send(q, "wake", 4, 1) == 0, "mq_send: %s", strerror(errno));
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&mu);
  while (calls == 0 && pthread_cond_timedwait(&cv, &mu, &until) == 0) {}
  pthread_mutex_unlock(&mu);
  CHECK(calls == 1, "the notification function ran %d times within 10 s of a send to the empty queue, want once", calls);
  CHECK(value == 0x7ead, "the function got sival %#x, want 0x7ead", value);
  pass();
}
