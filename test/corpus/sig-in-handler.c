/* Checkpointed inside a signal handler: SIGUSR1's handler (SA_ONSTACK, on a 64 KiB alternate stack)
 * blocks in read() on a pipe until the go line (read by a thread, which then writes to the pipe).
 * After restart the handler's read returns the byte, the handler returns through the kernel's
 * signal frame to the interrupted code (a counting loop, whose locals are intact), SIGUSR1 is
 * unblocked again, the alternate stack is no longer in use, and a second SIGUSR1 runs the handler
 * again. */
#include "corpus.h"

static char stk[65536];
static int p[2];
static volatile int in_handler, handler_done, calls, on_alt;
static volatile char got;
static void on_usr1(int s) {
  (void)s;
  calls++;
  stack_t cur;
  sigaltstack(NULL, &cur);
  on_alt = (cur.ss_flags & SS_ONSTACK) != 0;
  if (calls == 1) {
    in_handler = 1;
    char c;
    if (read(p[0], &c, 1) == 1) got = c;
  }
  handler_done++;
}
static void post(void) {
  if (write(p[1], "G", 1) != 1) fail("write");
}

int main(void) {
  SYS(pipe(p));
  stack_t ss = {.ss_sp = stk, .ss_size = sizeof stk};
  SYS(sigaltstack(&ss, NULL));
  struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK | SA_RESTART};
  SYS(sigaction(SIGUSR1, &sa, NULL));
  sigset_t u;
  sigemptyset(&u);
  sigaddset(&u, SIGUSR1);
  SYS(sigprocmask(SIG_BLOCK, &u, NULL)); /* the line thread must not take it */
  ready();
  line_thread(post);
  SYS(sigprocmask(SIG_UNBLOCK, &u, NULL));
  volatile long counter = 0, check = 12345;
  SYS(kill(getpid(), SIGUSR1));
  while (!handler_done) counter++;
  CHECK(check == 12345, "a local of the interrupted code changed");
  CHECK(got == 'G', "the handler's read returned '%c'", got ? got : '?');
  CHECK(line_seen, "the handler returned before the go line");
  CHECK(on_alt, "the handler did not run on the alternate stack");
  sigset_t now;
  SYS(sigprocmask(SIG_BLOCK, NULL, &now));
  CHECK(!sigismember(&now, SIGUSR1), "SIGUSR1 is still blocked after the handler returned");
  stack_t cur;
  SYS(sigaltstack(NULL, &cur));
  CHECK(!(cur.ss_flags & SS_ONSTACK) && cur.ss_sp == stk, "the alternate stack is %s (flags %d)", cur.ss_sp == stk ? "ours" : "another", cur.ss_flags);
  SYS(kill(getpid(), SIGUSR1));
  CHECK(calls == 2 && handler_done == 2, "a second SIGUSR1 ran the handler %d times", calls - 1);
  pass();
}
