/* A process that drops from root to another user (65534) and then execs a program (itself, in
 * its second role): the new program runs as that user, is checkpointed and restarted with the
 * same ids (real/effective/saved 65534, no supplementary groups), and cannot open a root-only
 * file. SKIP unless run as root. */
#include "corpus.h"
#include <grp.h>

static const char* ids_wrong(void) {
  uid_t r, e, s;
  gid_t gr, ge, gs;
  if (getresuid(&r, &e, &s) || getresgid(&gr, &ge, &gs)) return "getresuid/getresgid failed";
  if (r != 65534 || e != 65534 || s != 65534) return "uids are not 65534";
  if (gr != 65534 || ge != 65534 || gs != 65534) return "gids are not 65534";
  if (getgroups(0, NULL) != 0) return "supplementary groups";
  if (open("rootonly.dat", O_RDONLY) >= 0 || errno != EACCES) return "a root-only file can be opened: root again";
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1 && !strcmp(argv[1], "switched")) {
    const char* w = ids_wrong();
    CHECK(!w, "after the exec: %s", w);
    ready_wait();
    w = ids_wrong();
    CHECK(!w, "%s", w);
    pass();
  }
  if (getuid() != 0) skip("needs root (setuid to another user)");
  int f = SYS(open("rootonly.dat", O_CREAT | O_WRONLY | O_TRUNC, 0600));
  close(f);
  SYS(setgroups(0, NULL));
  SYS(setresgid(65534, 65534, 65534));
  SYS(setresuid(65534, 65534, 65534));
  execl("/proc/self/exe", argv[0], "switched", (char*)NULL);
  fail("exec: %s", strerror(errno));
}
