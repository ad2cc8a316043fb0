/* popen/pclose behave as glibc's, before the checkpoint and after the restart (the agent runs its
 * own popen so that pclose finds the command after a restart): a bad mode is EINVAL; "e" keeps the
 * parent's end close-on-exec and without it the end is inheritable; a second command does not
 * hold the first one's pipe (pclose of the first returns while the second still runs); fclose of
 * a popen stream waits for the command and returns its status; pclose of a plain FILE closes it. */
#include "corpus.h"
#include <sys/stat.h>

// fclose of a popen stream and pclose of a fopen one, on purpose: what glibc does with them
#pragma GCC diagnostic ignored "-Wmismatched-dealloc"

static void round_of_checks(const char* when) {
  errno = 0;
  CHECK(popen("true", "x") == NULL && errno == EINVAL, "%s: popen mode \"x\": %s", when, strerror(errno));
  errno = 0;
  CHECK(popen("true", "rw") == NULL && errno == EINVAL, "%s: popen mode \"rw\": %s", when, strerror(errno));
  FILE* slow = popen("read x; exit 3", "w");  // waits for our line
  CHECK(slow != NULL, "%s: popen w: %s", when, strerror(errno));
  CHECK(fcntl(fileno(slow), F_GETFD) == 0, "%s: the \"w\" stream's fd is close-on-exec", when);
  FILE* ce = popen("echo hi", "re");
  CHECK(ce != NULL, "%s: popen re: %s", when, strerror(errno));
  CHECK(fcntl(fileno(ce), F_GETFD) == FD_CLOEXEC, "%s: the \"re\" stream's fd is not close-on-exec", when);
  char buf[32] = "";
  CHECK(fgets(buf, sizeof buf, ce) && strcmp(buf, "hi\n") == 0, "%s: read %s", when, buf);
  int st = pclose(ce);  // returns although `slow` (made before) still runs
  CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: pclose(re) = %#x", when, st);
  FILE* d = popen("exit 4", "r");
  CHECK(d != NULL, "%s: popen: %s", when, strerror(errno));
  st = fclose(d);
  CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 4, "%s: fclose of a popen stream = %#x, want exit 4", when, st);
  CHECK(fputs("go\n", slow) >= 0, "%s: fputs", when);
  st = pclose(slow);
  CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 3, "%s: pclose(w) = %#x, want exit 3", when, st);
  FILE* plain = fopen("/dev/null", "r");
  CHECK(plain != NULL, "%s: fopen", when);
  CHECK(pclose(plain) == 0, "%s: pclose of a plain FILE: %s", when, strerror(errno));
  int sts;
  errno = 0;
  CHECK(waitpid(-1, &sts, WNOHANG) == -1 && errno == ECHILD, "%s: a command was left unreaped", when);
}

int main(void) {
  round_of_checks("before");
  ready_wait();
  round_of_checks("after the restart");
  pass();
}
