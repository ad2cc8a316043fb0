/* A process that drops from root to another user (65534) and then forks a child, which runs as
 * that user too: both come back from a restart as 65534 (real/effective/saved, no supplementary
 * groups), neither can open a root-only file, and the child, waiting in read(2) on a pipe across
 * the checkpoint, reads its go byte and exits 0. SKIP unless run as root. */
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

int main(void) {
  if (getuid() != 0) skip("needs root (setuid to another user)");
  int f = SYS(open("rootonly.dat", O_CREAT | O_WRONLY | O_TRUNC, 0600));
  close(f);
  SYS(setgroups(0, NULL));
  SYS(setresgid(65534, 65534, 65534));
  SYS(setresuid(65534, 65534, 65534));
  int go[2];
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(go[1]);
    char c;
    ssize_t n;
    n = read(go[0], &c, 1);
    if (n != 1) _exit(10);
    _exit(ids_wrong() ? 11 : 0);
  }
  peer(kid);
  close(go[0]);
  const char* w = ids_wrong();
  CHECK(!w, "setup: %s", w);

  ready_wait();

  w = ids_wrong();
  CHECK(!w, "parent: %s", w);
  CHECK(write(go[1], "g", 1) == 1, "cannot wake the child: %s", strerror(errno));
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st), "the child died (status %#x)", st);
  CHECK(WEXITSTATUS(st) != 10, "the child's read of its go byte failed (EINTR or EOF)");
  CHECK(WEXITSTATUS(st) != 11, "the child came back with other ids (or root again)");
  CHECK(WEXITSTATUS(st) == 0, "the child exited %d", WEXITSTATUS(st));
  pass();
}
