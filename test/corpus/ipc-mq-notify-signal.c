/* A process registered for a POSIX message queue's notification (mq_notify, SIGEV_SIGNAL with
 * SIGRTMIN+3 and si_value 0x5eed) on an empty queue, the signal blocked; a second queue registered
 * with SIGEV_NONE. After restart a send to the empty queue delivers the signal once (si_code
 * SI_MESGQ, the same si_value), the registration is then gone (a second registration succeeds),
 * and the SIGEV_NONE registration still holds its queue (another registration gets EBUSY). */
#include "corpus.h"
#include <mqueue.h>

static char name[64], name2[64];
static void rm(void) { mq_unlink(name); mq_unlink(name2); }

int main(void) {
  snprintf(name, sizeof name, "/corpus-mqn-%d", (int)getpid());
  snprintf(name2, sizeof name2, "/corpus-mqn2-%d", (int)getpid());
  struct mq_attr at = {.mq_maxmsg = 4, .mq_msgsize = 32};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
  if (q == (mqd_t)-1) skip("mq_open: %s", strerror(errno));
  on_exit_cleanup(rm);
  mqd_t q2 = mq_open(name2, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
  CHECK(q2 != (mqd_t)-1, "mq_open 2: %s", strerror(errno));
  int sig = SIGRTMIN + 3;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  SYS(sigprocmask(SIG_BLOCK, &set, NULL));
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig, .sigev_value.sival_int = 0x5eed};
  SYS(mq_notify(q, &ev));
  struct sigevent none = {.sigev_notify = SIGEV_NONE};
  SYS(mq_notify(q2, &none));

  ready_wait();

  /* Nothing fired by the checkpoint. */
  struct timespec zero = {0, 0};
  siginfo_t si;
  CHECK(sigtimedwait(&set, &si, &zero) < 0, "the notification fired with no message sent (checkpoint or restart)");
  CHECK(mq_send(q, "wake", 4, 1) == 0, "mq_send: %s", strerror(errno));
  struct timespec ten = {10, 0};
  int got = sigtimedwait(&set, &si, &ten);
  CHECK(got == sig, "no notification signal within 10 s of a send to the empty queue (the registration is gone): %s",
        got < 0 ? strerror(errno) : "another signal");
  CHECK(si.si_code == SI_MESGQ, "si_code %d, want SI_MESGQ", si.si_code);
  CHECK(si.si_value.sival_int == 0x5eed, "si_value %#x, want 0x5eed", si.si_value.sival_int);
  /* Fired once: the kernel dropped it, so registering again works. */
  CHECK(mq_notify(q, &ev) == 0, "registering again after it fired: %s", strerror(errno));
  /* The SIGEV_NONE registration holds q2: a second process's registration would fail; ours does
   * too (EBUSY: the queue has a registration). */
  pid_t k = fork();
  if (k == 0) {
    struct sigevent e2 = {.sigev_notify = SIGEV_NONE};
    _exit(mq_notify(q2, &e2) < 0 && errno == EBUSY ? 0 : 1);
  }
  int st = 0;
  SYS(waitpid(k, &st, 0));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the SIGEV_NONE registration on the second queue is gone (another process could register)");
  pass();
}
