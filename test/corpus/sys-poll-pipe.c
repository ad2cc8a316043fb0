/* poll(-1) on stdin (a pipe): the checkpoint interrupts it; the program must see neither EINTR nor
 * a spurious return: poll returns 1 with POLLIN only when the go line arrives. */
#include "corpus.h"
#include <poll.h>

int main(void) {
  struct pollfd p = {.fd = 0, .events = POLLIN};
  ready();
  int n = poll(&p, 1, -1);
  CHECK(n >= 0, "poll(-1): %s", strerror(errno));
  CHECK(n == 1 && (p.revents & POLLIN), "poll(-1) returned %d revents %#x before the line", n, p.revents);
  read_line();
  pass();
}
