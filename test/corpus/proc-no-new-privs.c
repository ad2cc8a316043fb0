/* prctl(PR_SET_NO_NEW_PRIVS): once set it can never be cleared, and a sandboxing program relies on
 * it (execve of a set-uid file no longer raises privileges). After restart it is still set, in the
 * process and in a child forked after the restart. */
#include "corpus.h"
#include <sys/prctl.h>

int main(void) {
  CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "no_new_privs set before we set it");
  SYS(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));

  ready_wait();

  CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs is clear after restart");
  pid_t k = SYS(fork());
  if (k == 0) _exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
  int st;
  SYS(waitpid(k, &st, 0));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child forked after restart lacks no_new_privs");
  pass();
}
