/* A periodic timerfd (CLOCK_MONOTONIC, every 20 ms) made by the parent and shared with a child
 * over fork; the child reads it. After restart both hold the same timer: the child still counts
 * expirations from it (read returns >= 1, and 5 reads take >= 80 ms), timerfd_gettime in the
 * parent still says a 20 ms interval and a pending expiry. */
#include "corpus.h"
#include <sys/timerfd.h>

int main(void) {
  int t = SYS(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  struct itimerspec its = {.it_interval = {0, 20000000}, .it_value = {0, 20000000}};
  SYS(timerfd_settime(t, 0, &its, NULL));
  int ctl[2], rep[2];
  SYS(pipe(ctl));
  SYS(pipe(rep));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    close(ctl[1]);
    uint64_t n;
    if (read(t, &n, 8) != 8) _exit(10);
    write_all(rep[1], "r", 1);
    char c;
    if (read(ctl[0], &c, 1) != 1) _exit(11);
    if (read(t, &n, 8) != 8 || n < 1) _exit(12);
    double t0 = now_mono();
    for (int i = 0; i < 5; i++)
      if (read(t, &n, 8) != 8 || n < 1) _exit(13);
    double dt = now_mono() - t0;
    int ms = (int)(dt * 1000);
    write_all(rep[1], &ms, sizeof ms);
    _exit(0);
  }
  peer(kid);
  close(ctl[0]);
  char c;
  read_exact(rep[0], &c, 1, "the child's first expiration");

  ready_wait();

  struct itimerspec g;
  SYS(timerfd_gettime(t, &g));
  CHECK(g.it_interval.tv_sec == 0 && g.it_interval.tv_nsec == 20000000, "interval %ld.%09ld, want 0.020",
        (long)g.it_interval.tv_sec, g.it_interval.tv_nsec);
  CHECK(g.it_value.tv_sec || g.it_value.tv_nsec, "the timer is disarmed");
  write_all(ctl[1], "g", 1);
  int ms;
  read_exact(rep[0], &ms, sizeof ms, "the child's report");
  CHECK(ms >= 80, "5 expirations in the child took %d ms, want >= 80 (a 20 ms period)", ms);
  int st;
  CHECK(waitpid(kid, &st, 0) == kid, "waitpid: %s", strerror(errno));
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x; 12/13 = its read of the timer failed)", st);
  pass();
}
