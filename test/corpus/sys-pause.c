/* The main thread sleeps in pause() until a signal arrives; only the go line (read by another
 * thread, which then sends SIGUSR1 to the process) may end it. pause must return only after our
 * handler ran (-1 EINTR is pause's one return), never because of the checkpoint. */
#include "corpus.h"

static volatile sig_atomic_t got;
static volatile int woke;
static void on_usr1(int s) { (void)s; got = 1; }
/* Sent until pause has returned: a go line that comes before the main thread is in pause (it
 * unblocks SIGUSR1 just before) would otherwise spend its one signal on the unblocking. */
static void post(void) {
  for (int i = 0; !woke && i < 4000; i++) {
    if (kill(getpid(), SIGUSR1)) fail("kill: %s", strerror(errno));
    usleep(5000);
  }
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_usr1};
  SYS(sigaction(SIGUSR1, &sa, NULL));
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  /* The line thread inherits SIGUSR1 blocked, so the signal can only wake the main thread. */
  SYS(sigprocmask(SIG_BLOCK, &s, NULL));
  ready();
  line_thread(post);
  SYS(sigprocmask(SIG_UNBLOCK, &s, NULL));
  int r = pause();
  int e = errno;
  woke = 1;
  CHECK(r == -1 && e == EINTR, "pause returned %d (%s)", r, strerror(e));
  CHECK(got, "pause returned before our SIGUSR1 handler ran (the checkpoint woke it)");
  CHECK(line_seen, "pause returned before the go line");
  pass();
}
