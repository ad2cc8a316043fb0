/* read() blocked on a named FIFO (opened O_RDWR by us, so it never sees EOF) across the checkpoint;
 * a forked peer that opened the FIFO for writing reads the go line and only then writes 4 bytes.
 * read must return those 4 bytes (never EINTR), and the FIFO is still a FIFO at its path. */
#include "corpus.h"

static char path[64];
static void rm(void) { unlink(path); }

int main(void) {
  snprintf(path, sizeof path, "/tmp/amber-fifo-block-%d", (int)getpid());
  SYS(mkfifo(path, 0600));
  on_exit_cleanup(rm);
  int r = SYS(open(path, O_RDWR));
  ready();
  pid_t kid = SYS(fork());
  if (kid == 0) {
    int w = open(path, O_WRONLY);
    if (w < 0) _exit(2);
    read_line();
    if (write(w, "fifo", 4) != 4) _exit(3);
    pause();
    _exit(0);
  }
  peer(kid);
  char b[16];
  ssize_t n = read(r, b, sizeof b);
  CHECK(n >= 0, "read(fifo): %s", strerror(errno));
  CHECK(n == 4 && !memcmp(b, "fifo", 4), "read(fifo) returned %zd", n);
  struct stat st;
  CHECK(fstat(r, &st) == 0 && S_ISFIFO(st.st_mode), "the descriptor is not a FIFO any more");
  pass();
}
