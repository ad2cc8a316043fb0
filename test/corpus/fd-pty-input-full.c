/* A raw pty slave (cfmakeraw) whose reader is far behind: the master wrote pattern bytes until
 * the pty took no more (about 4 KiB in the line discipline, the rest waiting in the kernel's
 * buffer). After restart the reader reads every byte, in order, then nothing more. */
#include "corpus.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

int main(void) {
  int s;
  int m = pty_pair(O_NONBLOCK, 0, &s);
  pty_raw(s);
  static char want[65536], got[65536];
  fill_pattern(want, sizeof want, 7);
  size_t put = 0;
  for (int quiet = 0; quiet < 100 && put < sizeof want; quiet++) {  /* until 100 ms without room */
    ssize_t w = write(m, want + put, sizeof want - put);
    if (w > 0) { put += (size_t)w; quiet = 0; continue; }
    if (w < 0 && errno != EAGAIN) fail("write to the master: %s", strerror(errno));
    usleep(1000);
  }
  CHECK(put > 4095, "the pty took only %zu bytes", put);

  ready_wait();

  size_t n = 0;
  while (n < put) {
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, 3000) != 1) break;
    ssize_t r = read(s, got + n, sizeof got - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  CHECK(n == put, "the reader read %zu bytes, want %zu", n, put);
  for (size_t i = 0; i < n; i++) CHECK(got[i] == want[i], "byte %zu differs", i);
  struct pollfd p = {.fd = s, .events = POLLIN};
  CHECK(poll(&p, 1, 300) == 0, "more input than was written");
  pass();
}
