/* An alternate signal stack (sigaltstack, 64 KiB) on the main thread and a SIGUSR1 handler with
 * SA_ONSTACK: after restart sigaltstack reports the same stack, and the handler runs on it (the
 * address of a local in the handler is inside the stack; SS_ONSTACK seen from inside). */
#include "corpus.h"

static char alt[65536] __attribute__((aligned(16)));
static volatile uintptr_t where;
static volatile int onstack;
static void on_usr1(int s) {
  (void)s;
  volatile char local = 0;
  where = (uintptr_t)&local;
  stack_t cur;
  sigaltstack(NULL, &cur);
  onstack = !!(cur.ss_flags & SS_ONSTACK);
}

int main(void) {
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  SYS(sigaltstack(&ss, NULL));
  struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
  SYS(sigaction(SIGUSR1, &sa, NULL));

  ready_wait();

  stack_t cur;
  SYS(sigaltstack(NULL, &cur));
  CHECK(cur.ss_sp == alt && cur.ss_size == sizeof alt && !(cur.ss_flags & SS_DISABLE), "sigaltstack is %p+%zu flags %#x, want %p+%zu",
        cur.ss_sp, cur.ss_size, cur.ss_flags, (void*)alt, sizeof alt);
  struct sigaction now;
  SYS(sigaction(SIGUSR1, NULL, &now));
  CHECK(now.sa_flags & SA_ONSTACK, "SA_ONSTACK is gone");
  SYS(kill(getpid(), SIGUSR1));
  CHECK(where >= (uintptr_t)alt && where < (uintptr_t)alt + sizeof alt, "the handler ran at %#lx, outside the alternate stack",
        (unsigned long)where);
  CHECK(onstack, "SS_ONSTACK not set inside the handler");
  pass();
}
