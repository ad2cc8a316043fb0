/* /proc/self/exe and the auxiliary vector's AT_EXECFN name the program, not amber's restorer: after
 * restart readlink("/proc/self/exe") gives the same path as before, and the executable it names
 * opens and is this very file (same inode as before). */
#include "corpus.h"
#include <sys/auxv.h>

int main(void) {
  char before[4096], after[4096];
  ssize_t n = readlink("/proc/self/exe", before, sizeof before - 1);
  if (n <= 0) fail("readlink: %s", strerror(errno));
  before[n] = 0;
  struct stat s0, s1;
  SYS(stat("/proc/self/exe", &s0));
  const char* fn0 = (const char*)getauxval(AT_EXECFN);
  char execfn[4096];
  snprintf(execfn, sizeof execfn, "%s", fn0 ? fn0 : "");

  ready_wait();

  n = readlink("/proc/self/exe", after, sizeof after - 1);
  CHECK(n > 0, "readlink /proc/self/exe after restart: %s", strerror(errno));
  after[n] = 0;
  CHECK(!strcmp(before, after), "/proc/self/exe is '%s' after restart, was '%s'", after, before);
  CHECK(stat("/proc/self/exe", &s1) == 0 && s1.st_ino == s0.st_ino && s1.st_dev == s0.st_dev, "/proc/self/exe is another file after restart");
  const char* fn1 = (const char*)getauxval(AT_EXECFN);
  CHECK(fn1 && !strcmp(fn1, execfn), "AT_EXECFN is '%s' after restart, was '%s'", fn1 ? fn1 : "(null)", execfn);
  pass();
}
