/* select() on stdin with a 60 s timeout: across the checkpoint it must not return EINTR or time
 * out early; it returns 1 with stdin set when the go line arrives, and (Linux updates the timeout)
 * the time left is no more than 60 s minus the time that really passed (give or take 1 s). */
#include "corpus.h"
#include <sys/select.h>

int main(void) {
  fd_set r;
  FD_ZERO(&r);
  FD_SET(0, &r);
  struct timeval tv = {60, 0};
  ready();
  double t0 = now_mono();
  int n = select(1, &r, NULL, NULL, &tv);
  double dt = now_mono() - t0;
  CHECK(n >= 0, "select: %s", strerror(errno));
  CHECK(n == 1 && FD_ISSET(0, &r), "select returned %d after %.2f s without the line", n, dt);
  double left = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
  CHECK(left > 0 && left <= 60 - dt + 1, "select left %.2f s of 60 after %.2f s had passed", left, dt);
  read_line();
  pass();
}
