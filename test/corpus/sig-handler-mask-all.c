/* A signal handler installed with every signal in its sa_mask (as postgres installs all of its
 * own) is running across the checkpoint: it forked a child there (which starts with the handler's
 * mask) and blocks reading a pipe until the go line. Both must be checkpointed and restarted; the
 * handler returns after the restart, and sigaction still reports the mask it was given. */
#include "corpus.h"

static int p[2];
static volatile int handled;
static volatile pid_t kid;

static void feed(void) {
  if (write(p[1], "g", 1) != 1) fail("write: %s", strerror(errno));
}

static void handler(int sig) {
  (void)sig;
  pid_t k = fork();
  if (k == 0) {
    for (;;) pause();
  }
  kid = k;
  char c;
  ssize_t n;
  while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR) {}
  handled = n == 1 ? 1 : -1;
}

static void same_mask(const sigset_t* want, const char* when) {
  struct sigaction o;
  SYS(sigaction(SIGUSR1, NULL, &o));
  for (int s = 1; s < 65; s++)
    if (s != SIGKILL && s != SIGSTOP)  // (never blocked: the kernel takes them out)
      CHECK(sigismember(&o.sa_mask, s) == sigismember(want, s), "%s: sigaction reports signal %d %s the handler's mask", when, s,
          sigismember(want, s) ? "missing from" : "added to");
}

int main(void) {
  SYS(pipe(p));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigfillset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  SYS(sigaction(SIGUSR1, &sa, NULL));
  same_mask(&sa.sa_mask, "before");
  ready();
  line_thread(feed);
  SYS(kill(getpid(), SIGUSR1));  // runs here, in the main thread, until the go line
  CHECK(handled == 1, "the handler's read ended with %d", handled);
  CHECK(kid > 0, "the handler did not fork");
  peer(kid);
  CHECK(kill(kid, 0) == 0, "the child forked in the handler is gone: %s", strerror(errno));
  same_mask(&sa.sa_mask, "after");
  pass();
}
