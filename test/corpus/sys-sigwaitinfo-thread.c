/* A second thread blocks in sigwaitinfo(SIGUSR2) (every thread blocks it) across the checkpoint
 * while the main thread waits for the go line; a forked child reads the go line too and sends
 * SIGUSR2 to us with sigqueue (value 5). The thread must get it with si_pid == the pid fork
 * returned, SI_QUEUE, value 5; never EINTR. */
#include "corpus.h"

static volatile int got = -2, gerr, gpid, gcode, gval;
static void* waiter(void* u) {
  (void)u;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = sigwaitinfo(&s, &si);
  gerr = errno;
  gpid = si.si_pid;
  gcode = si.si_code;
  gval = si.si_value.sival_int;
  got = r;
  return NULL;
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  sigprocmask(SIG_BLOCK, &s, NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, waiter, NULL)) fail("pthread_create");
  int go[2];
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    union sigval v = {.sival_int = 5};
    if (sigqueue(getppid(), SIGUSR2, v)) _exit(3);
    pause();
    _exit(0);
  }
  peer(kid);
  usleep(20000);
  ready_wait();
  CHECK(got == -2, "sigwaitinfo returned %d (%s) before the go line", got, strerror(gerr));
  SYS(write(go[1], "g", 1));
  pthread_join(t, NULL);
  CHECK(got == SIGUSR2, "sigwaitinfo returned %d (%s)", got, strerror(gerr));
  CHECK(gpid == kid && gcode == SI_QUEUE && gval == 5, "sigwaitinfo: si_pid %d (child %d) code %d value %d", gpid, (int)kid,
        gcode, gval);
  pass();
}
