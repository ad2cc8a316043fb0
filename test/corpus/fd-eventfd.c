/* Two eventfds: a plain counter at 5 and an EFD_SEMAPHORE|EFD_NONBLOCK one at 3. After restart the
 * plain one reads 5 in one read, the semaphore one reads 1 three times and then EAGAIN, flags are
 * the same, and a write still wakes a reader. */
#include "corpus.h"
#include <poll.h>
#include <sys/eventfd.h>

int main(void) {
  int a = SYS(eventfd(5, 0));
  int s = SYS(eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK));
  int afl = fcntl(a, F_GETFL), sfl = fcntl(s, F_GETFL);

  ready_wait();

  CHECK(fcntl(a, F_GETFL) == afl && fcntl(s, F_GETFL) == sfl, "flags changed (%#x %#x, want %#x %#x)", fcntl(a, F_GETFL),
        fcntl(s, F_GETFL), afl, sfl);
  uint64_t v = 0;
  CHECK(read(a, &v, 8) == 8, "read plain eventfd: %s", strerror(errno));
  CHECK(v == 5, "plain eventfd counter %llu, want 5", (unsigned long long)v);
  for (int i = 0; i < 3; i++) {
    v = 0;
    CHECK(read(s, &v, 8) == 8, "semaphore read %d: %s (counter lost)", i + 1, strerror(errno));
    CHECK(v == 1, "semaphore read %d gave %llu, want 1 (EFD_SEMAPHORE lost)", i + 1, (unsigned long long)v);
  }
  CHECK(read(s, &v, 8) < 0 && errno == EAGAIN, "fourth semaphore read did not give EAGAIN");
  v = 7;
  SYS(write(a, &v, 8));
  struct pollfd p = {.fd = a, .events = POLLIN};
  CHECK(poll(&p, 1, 1000) == 1, "plain eventfd not readable after a write");
  CHECK(read(a, &v, 8) == 8 && v == 7, "plain eventfd read %llu after writing 7", (unsigned long long)v);
  pass();
}
