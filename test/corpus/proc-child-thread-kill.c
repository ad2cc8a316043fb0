/* A child's second thread named by the tid it reported (gettid): tgkill(child, tid, SIGUSR1) from
 * the parent reaches that thread (it reports the signal with sigwaitinfo), and
 * sched_getaffinity/getpriority of that tid work — before and after the restart. */
#include "corpus.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static int rep[2];
static void* kid_thread(void* u) {
  (void)u;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  pid_t t = gettid();
  setpriority(PRIO_PROCESS, (id_t)t, 5);
  if (write(rep[1], &t, sizeof t) != sizeof t) _exit(5);
  for (;;) {
    siginfo_t si;
    if (sigwaitinfo(&s, &si) != SIGUSR1) continue;
    char c = si.si_signo == SIGUSR1 ? 'y' : 'n';
    if (write(rep[1], &c, 1) != 1) _exit(6);
  }
  return NULL;
}

static void check(pid_t kid, pid_t tid, const char* phase) {
  long r = syscall(SYS_tgkill, kid, tid, SIGUSR1);
  CHECK(r == 0, "%s: tgkill(child %d, its thread %d): %s", phase, (int)kid, (int)tid, strerror(errno));
  char c;
  CHECK(read(rep[0], &c, 1) == 1 && c == 'y', "%s: the child's thread did not get the signal from tgkill (%c)", phase, c);
  errno = 0;
  int p = getpriority(PRIO_PROCESS, (id_t)tid);
  CHECK(p == 5 && errno == 0, "%s: getpriority(the child's thread %d) = %d (%s), it set 5", phase, (int)tid, p,
        strerror(errno));
  cpu_set_t cs;
  CHECK(sched_getaffinity(tid, sizeof cs, &cs) == 0, "%s: sched_getaffinity(%d): %s", phase, (int)tid, strerror(errno));
}

int main(void) {
  SYS(pipe(rep));
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, kid_thread, NULL)) _exit(4);
    for (;;) pause();
  }
  peer(kid);
  pid_t tid = 0;
  CHECK(read(rep[0], &tid, sizeof tid) == sizeof tid, "the child's thread did not report");
  check(kid, tid, "before");
  ready_wait();
  check(kid, tid, "after");
  pass();
}
