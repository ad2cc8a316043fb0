/* Securebits (PR_SET_SECUREBITS): SECBIT_NOROOT and SECBIT_NO_SETUID_FIXUP set, the first locked
 * (SECBIT_NOROOT_LOCKED), as a root service does before it drops to capabilities only. Needs
 * CAP_SETPCAP (root); SKIP otherwise. After restart PR_GET_SECUREBITS reads the same bits, the
 * locked one cannot be cleared (EPERM), and a child forked now has them too. */
#include "corpus.h"
#include <linux/securebits.h>
#include <sys/prctl.h>

int main(void) {
  int want = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP;
  if (prctl(PR_SET_SECUREBITS, want, 0, 0, 0)) skip("PR_SET_SECUREBITS: %s (needs CAP_SETPCAP)", strerror(errno));
  int b0 = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  if (b0 != want) fail("setup: securebits %#x, want %#x", b0, want);

  ready_wait();

  int b = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  CHECK(b == want, "securebits %#x after restart, want %#x", b, want);
  CHECK(prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0) < 0 && errno == EPERM,
        "clearing the locked SECBIT_NOROOT did not fail with EPERM (the lock was lost)");
  int p[2];
  SYS(pipe(p));
  pid_t k = SYS(fork());
  if (k == 0) {
    int c = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    write_all(p[1], &c, sizeof c);
    _exit(0);
  }
  int c;
  read_exact(p[0], &c, sizeof c, "child");
  waitpid(k, NULL, 0);
  CHECK(c == want, "a child forked after restart has securebits %#x, want %#x", c, want);
  pass();
}
