/* sigsuspend: SIGUSR1 is blocked, the main thread waits in sigsuspend(empty mask); only the go line
 * (read by another thread, which then sends SIGUSR1) may end it. sigsuspend must return only after
 * our handler ran, and the mask afterwards is the one from before the call (SIGUSR1 and SIGUSR2
 * blocked), never because of the checkpoint. */
#include "corpus.h"

static volatile sig_atomic_t got;
static void on_usr1(int s) { (void)s; got = 1; }
static void post(void) {
  if (kill(getpid(), SIGUSR1)) fail("kill: %s", strerror(errno));
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_usr1};
  SYS(sigaction(SIGUSR1, &sa, NULL));
  sigset_t s, none, after;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGUSR2);
  SYS(sigprocmask(SIG_BLOCK, &s, NULL));
  ready();
  line_thread(post);
  sigemptyset(&none);
  int r = sigsuspend(&none);
  int e = errno;
  CHECK(r == -1 && e == EINTR, "sigsuspend returned %d (%s)", r, strerror(e));
  CHECK(got, "sigsuspend returned before our SIGUSR1 handler ran (the checkpoint woke it)");
  CHECK(line_seen, "sigsuspend returned before the go line");
  SYS(sigprocmask(SIG_BLOCK, NULL, &after));
  CHECK(sigismember(&after, SIGUSR1) && sigismember(&after, SIGUSR2), "the mask after sigsuspend lost SIGUSR1/SIGUSR2");
  CHECK(!sigismember(&after, SIGTERM), "the mask after sigsuspend has SIGTERM");
  pass();
}
