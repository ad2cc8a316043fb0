/* A POSIX timer on the process's CPU clock (timer_create(CLOCK_PROCESS_CPUTIME_ID), a watchdog
 * for runaway computation): armed for 30 s of CPU with a 10 s interval, and a second one on the
 * calling thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) for 150 ms of CPU, signalling SIGRTMIN+5.
 * After restart timer_gettime reports the same interval and no more CPU time left than before
 * (never re-armed from scratch, not disarmed), and once this thread has burnt 150 ms more of CPU
 * the second timer's signal comes (bounded: 20 s of real time). A third timer, on the clock
 * clock_getcpuclockid(getpid()) gives (our pid inside the clock id), keeps its time left too. */
#include "corpus.h"

static volatile sig_atomic_t fired;
static void on_sig(int s, siginfo_t* si, void* u) {
  (void)s;
  (void)u;
  if (si->si_code == SI_TIMER && si->si_value.sival_int == 55) fired++;
}

static double left(timer_t t, double* interval) {
  struct itimerspec it;
  if (timer_gettime(t, &it)) fail("timer_gettime: %s", strerror(errno));
  if (interval) *interval = (double)it.it_interval.tv_sec + (double)it.it_interval.tv_nsec / 1e9;
  return (double)it.it_value.tv_sec + (double)it.it_value.tv_nsec / 1e9;
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_sig, .sa_flags = SA_SIGINFO | SA_RESTART};
  SYS(sigaction(SIGRTMIN + 5, &sa, NULL));
  struct sigevent ev = {.sigev_notify = SIGEV_NONE};
  timer_t proc, thr, bypid;
  SYS(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &proc));
  clockid_t pc;
  int e = clock_getcpuclockid(getpid(), &pc);
  if (e) fail("clock_getcpuclockid: %s", strerror(e));
  SYS(timer_create(pc, &ev, &bypid));
  struct itimerspec c = {.it_value = {40, 0}};
  SYS(timer_settime(bypid, 0, &c, NULL));
  ev = (struct sigevent){.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 5, .sigev_value.sival_int = 55};
  SYS(timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &thr));
  struct itimerspec a = {.it_value = {30, 0}, .it_interval = {10, 0}};
  SYS(timer_settime(proc, 0, &a, NULL));
  struct itimerspec b = {.it_value = {0, 150000000}};
  SYS(timer_settime(thr, 0, &b, NULL));
  double p0 = left(proc, NULL), t0 = left(thr, NULL), c0 = left(bypid, NULL);

  ready_wait();

  double iv;
  double p1 = left(proc, &iv);
  CHECK(iv == 10.0, "the CPU-time timer's interval is %.3f s, want 10", iv);
  CHECK(p1 > 0 && p1 <= p0 + 0.0005, "the CPU-time timer has %.3f s left, %.3f s before the checkpoint (re-armed or disarmed)", p1, p0);
  double c1 = left(bypid, NULL);
  CHECK(c1 > 0 && c1 <= c0 + 0.0005, "the timer on clock_getcpuclockid(getpid()) has %.3f s left, %.3f s before the checkpoint", c1, c0);
  double t1 = left(thr, NULL);
  CHECK(t1 > 0 && t1 <= t0 + 0.0005, "the thread-CPU timer has %.3f s left, %.3f s before the checkpoint", t1, t0);
  CHECK(!fired, "the thread-CPU timer fired before its CPU time was used");
  double start = now_mono();
  volatile unsigned long x = 0;
  while (!fired && now_mono() - start < 20)
    for (int i = 0; i < 100000; i++) x += (unsigned long)i;
  CHECK(fired == 1, "the thread-CPU timer fired %d times after 150 ms more CPU (%.1f s of real time)", (int)fired, now_mono() - start);
  pass();
}
