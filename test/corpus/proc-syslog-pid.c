/* openlog(LOG_PID | LOG_PERROR): every message carries the process's pid ("ident[pid]: ..."),
 * also on stderr, where the program reads it back (its stderr a pipe for the moment). The pid in
 * the line must be getpid()'s, before the checkpoint and after the restart (glibc takes it from
 * the kernel inside libc), and %m must still say the errno of the moment. */
#include "corpus.h"
#include <syslog.h>

static void line_pid(const char* tag) {
  int p[2];
  SYS(pipe(p));
  int saved = SYS(dup(2));
  SYS(dup2(p[1], 2));
  errno = ENOENT;
  syslog(LOG_USER | LOG_INFO, "%s %m", tag);
  SYS(dup2(saved, 2));
  close(saved);
  close(p[1]);
  char buf[512] = "";
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  CHECK(n > 0, "%s: nothing on stderr from syslog with LOG_PERROR", tag);
  buf[n] = 0;
  char want[64];
  snprintf(want, sizeof want, "corpus-syslog[%d]: %s", (int)getpid(), tag);
  CHECK(strstr(buf, want) != NULL, "%s: syslog wrote \"%s\", want it to start with \"%s\"", tag, strtok(buf, "\n"), want);
  CHECK(strstr(buf, strerror(ENOENT)) != NULL, "%s: %%m is not the errno of the call: \"%s\"", tag, buf);
}

int main(void) {
  openlog("corpus-syslog", LOG_PID | LOG_PERROR, LOG_USER);
  line_pid("before");
  ready_wait();
  line_pid("after");
  closelog();
  pass();
}
