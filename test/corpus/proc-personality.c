/* The execution domain changed after launch: personality(ADDR_NO_RANDOMIZE | UNAME26). After
 * restart personality(0xffffffff) returns the same, uname(2) reports a 2.6.x release (UNAME26 in
 * force), and a child forked now inherits it. */
#include "corpus.h"
#include <sys/personality.h>
#include <sys/utsname.h>

int main(void) {
  int p0 = personality(0xffffffff);
  SYS(personality((unsigned long)p0 | ADDR_NO_RANDOMIZE | UNAME26));
  int want = personality(0xffffffff);

  ready_wait();

  int now = personality(0xffffffff);
  CHECK(now == want, "personality %#x, want %#x", now, want);
  struct utsname u;
  SYS(uname(&u));
  CHECK(!strncmp(u.release, "2.6.", 4), "uname release '%s' (UNAME26 not in force)", u.release);
  pid_t k = SYS(fork());
  if (k == 0) _exit(personality(0xffffffff) == want ? 0 : 1);
  int st;
  SYS(waitpid(k, &st, 0));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child forked after restart has another personality");
  pass();
}
