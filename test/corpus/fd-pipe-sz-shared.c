/* A pipe resized with F_SETPIPE_SZ to 256 KiB, its write end shared with a child that wrote 150 KiB
 * into it (more than the default capacity) and waits: after restart F_GETPIPE_SZ is 256 KiB in
 * both processes (the child reports its reading), we read the 150 KiB, and the child can then
 * write 256 KiB without blocking (it writes non-blocking and reports how much it could). */
#include "corpus.h"

#define SZ (256 * 1024)
#define IN (150 * 1024)

int main(void) {
  int p[2], ctl[2], rep[2];
  SYS(pipe(p));
  SYS(pipe(ctl));
  SYS(pipe(rep));
  int got = SYS(fcntl(p[1], F_SETPIPE_SZ, SZ));
  if (got != SZ) skip("F_SETPIPE_SZ gave %d", got);
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(p[0]);
    close(ctl[1]);
    static char b[IN];
    fill_pattern(b, sizeof b, 303);
    write_all(p[1], b, sizeof b);
    write_all(rep[1], "w", 1);
    char c;
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    int sz = fcntl(p[1], F_GETPIPE_SZ);
    write_all(rep[1], &sz, sizeof sz);
    if (read(ctl[0], &c, 1) != 1) _exit(11);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    static char m[SZ];
    ssize_t n = write(p[1], m, sizeof m);
    int nn = (int)n;
    write_all(rep[1], &nn, sizeof nn);
    _exit(0);
  }
  peer(kid);
  close(ctl[0]);
  close(p[1]);
  char c;
  read_exact(rep[0], &c, 1, "the child's word that it wrote");

  ready_wait();

  CHECK(fcntl(p[0], F_GETPIPE_SZ) == SZ, "F_GETPIPE_SZ (ours) %d, want %d", fcntl(p[0], F_GETPIPE_SZ), SZ);
  write_all(ctl[1], "s", 1);
  int csz;
  read_exact(rep[0], &csz, sizeof csz, "the child's F_GETPIPE_SZ");
  CHECK(csz == SZ, "F_GETPIPE_SZ in the child %d, want %d", csz, SZ);
  static char rb[IN];
  read_exact(p[0], rb, sizeof rb, "the child's bytes");
  int at = check_pattern(rb, sizeof rb, 303);
  CHECK(at < 0, "the child's bytes differ at %d", at);
  write_all(ctl[1], "f", 1);
  int n;
  read_exact(rep[0], &n, sizeof n, "the child's fill count");
  CHECK(n == SZ, "the child could write %d bytes into the empty pipe without blocking, want %d", n, SZ);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  pass();
}
