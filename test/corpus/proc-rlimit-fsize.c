/* A small RLIMIT_FSIZE (64 KiB soft and hard, SIGXFSZ ignored) set after launch, as a sandboxed
 * program may have: after restart the limit reads back the same and is enforced (a 100 KiB write
 * is cut at 64 KiB, the next one fails with EFBIG). A checkpointer writing its image from inside
 * the process must not trip over the application's limit. */
#include "corpus.h"
#include <sys/resource.h>

int main(void) {
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit l = {65536, 65536};
  SYS(setrlimit(RLIMIT_FSIZE, &l));

  ready_wait();

  struct rlimit now;
  SYS(getrlimit(RLIMIT_FSIZE, &now));
  CHECK(now.rlim_cur == 65536 && now.rlim_max == 65536, "RLIMIT_FSIZE %llu/%llu, want 65536/65536", (unsigned long long)now.rlim_cur,
        (unsigned long long)now.rlim_max);
  int f = SYS(open("fsize.dat", O_WRONLY | O_CREAT | O_TRUNC, 0600));
  static char b[100000];
  ssize_t n = write(f, b, sizeof b);
  CHECK(n == 65536, "a 100000-byte write under a 64 KiB limit wrote %zd", n);
  CHECK(write(f, b, 1) < 0 && errno == EFBIG, "a write past the limit did not fail with EFBIG");
  pass();
}
