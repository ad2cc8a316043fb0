/* Clocks never go backwards in a child either: our child read CLOCK_MONOTONIC, CLOCK_BOOTTIME and
 * CLOCK_MONOTONIC_RAW before the checkpoint (and told us); after restart it reads them again:
 * each is at least what it was, and the monotonic ones advanced by no less than BOOTTIME's
 * advance allows (they all ran while the program was down: MONOTONIC grew at least as much as
 * REALTIME did, minus 1 s of slack for an adjusted wall clock). Our own readings obey the same. */
#include "corpus.h"

static const clockid_t ids[3] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW};
static const char* nm[3] = {"MONOTONIC", "BOOTTIME", "MONOTONIC_RAW"};

static void read_all(double* v) {
  for (int i = 0; i < 3; i++) {
    struct timespec ts;
    clock_gettime(ids[i], &ts);
    v[i] = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  }
}

static int check(const double* b, const double* a) {
  for (int i = 0; i < 3; i++)
    if (a[i] < b[i]) return i + 1;
  return 0;
}

int main(void) {
  int ctl[2], rep[2];
  SYS(pipe(ctl));
  SYS(pipe(rep));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    double b[3], a[3];
    read_all(b);
    write_all(rep[1], b, sizeof b);
    char c;
    if (read(ctl[0], &c, 1) != 1) _exit(10);
    read_all(a);
    write_all(rep[1], a, sizeof a);
    _exit(0);
  }
  peer(kid);
  double cb[3], mb[3], rb, ra;
  read_exact(rep[0], cb, sizeof cb, "the child's first readings");
  read_all(mb);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rb = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;

  ready_wait();

  double ma[3];
  read_all(ma);
  clock_gettime(CLOCK_REALTIME, &ts);
  ra = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  write_all(ctl[1], "g", 1);
  double ca[3];
  read_exact(rep[0], ca, sizeof ca, "the child's readings after");
  int k = check(cb, ca);
  CHECK(!k, "in the child CLOCK_%s went backwards: %.6f -> %.6f", nm[k - 1], cb[k - 1], ca[k - 1]);
  k = check(mb, ma);
  CHECK(!k, "in the parent CLOCK_%s went backwards: %.6f -> %.6f", nm[k - 1], mb[k - 1], ma[k - 1]);
  double wall = ra - rb;
  for (int i = 0; i < 3; i++)
    CHECK(ma[i] - mb[i] >= wall - 1.0, "CLOCK_%s advanced %.3f s while %.3f s of real time passed", nm[i], ma[i] - mb[i], wall);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
  pass();
}
