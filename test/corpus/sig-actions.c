/* Signal dispositions: SIGUSR1 handled (SA_SIGINFO|SA_RESTART|SA_NODEFER, mask {SIGUSR2, SIGTERM}),
 * SIGUSR2 ignored, SIGHUP handled with SA_RESETHAND, SIGPIPE ignored, SIGINT default. After
 * restart sigaction reads each back identically (handler, flags, mask), and SIGUSR1 runs our
 * handler with SIGUSR2 blocked inside it; SIGHUP's handler runs once and resets to default. */
#include "corpus.h"

static volatile sig_atomic_t usr1, usr2_blocked_inside, hup;
static void on_usr1(int s, siginfo_t* si, void* u) {
  (void)u;
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  usr2_blocked_inside = sigismember(&cur, SIGUSR2);
  usr1 = s == SIGUSR1 && si->si_pid == getpid();
}
static void on_hup(int s) { hup = s; }

struct want { int sig; struct sigaction sa; };

int main(void) {
  struct sigaction a = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER};
  sigemptyset(&a.sa_mask);
  sigaddset(&a.sa_mask, SIGUSR2);
  sigaddset(&a.sa_mask, SIGTERM);
  SYS(sigaction(SIGUSR1, &a, NULL));
  signal(SIGUSR2, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction h = {.sa_handler = on_hup, .sa_flags = SA_RESETHAND};
  SYS(sigaction(SIGHUP, &h, NULL));
  int sigs[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGPIPE, SIGINT, SIGTERM};
  struct sigaction before[6];
  for (int i = 0; i < 6; i++) SYS(sigaction(sigs[i], NULL, &before[i]));

  ready_wait();

  for (int i = 0; i < 6; i++) {
    struct sigaction now;
    SYS(sigaction(sigs[i], NULL, &now));
    CHECK(now.sa_handler == before[i].sa_handler, "signal %d: handler %p, want %p", sigs[i], (void*)now.sa_handler, (void*)before[i].sa_handler);
    CHECK(now.sa_flags == before[i].sa_flags, "signal %d: flags %#x, want %#x", sigs[i], now.sa_flags, before[i].sa_flags);
    for (int s = 1; s < 32; s++)
      CHECK(sigismember(&now.sa_mask, s) == sigismember(&before[i].sa_mask, s), "signal %d: mask differs at signal %d", sigs[i], s);
  }
  SYS(kill(getpid(), SIGUSR1));
  CHECK(usr1, "our SIGUSR1 handler did not run (or saw another sender)");
  CHECK(usr2_blocked_inside, "SIGUSR2 was not blocked inside the handler (sa_mask lost)");
  SYS(kill(getpid(), SIGUSR2)); /* ignored: we survive */
  SYS(kill(getpid(), SIGHUP));
  CHECK(hup == SIGHUP, "the SIGHUP handler did not run");
  struct sigaction now;
  SYS(sigaction(SIGHUP, NULL, &now));
  CHECK(now.sa_handler == SIG_DFL, "SA_RESETHAND did not reset SIGHUP to default");
  pass();
}
