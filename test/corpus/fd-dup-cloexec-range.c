/* Descriptor numbers and close-on-exec made by the calls that pick them: F_DUPFD_CLOEXEC with a
 * floor of 100 (lands on 100), dup3(O_CLOEXEC) onto 777, plain dup2 onto 600, and
 * close_range(200, 210, CLOSE_RANGE_CLOEXEC) over five descriptors dup'd to 200..204 (those get
 * FD_CLOEXEC, 600 and 100's source do not). After restart every one is at its number with its
 * FD_CLOEXEC bit, all are one open file description (one offset), and a lowest-free dup still
 * picks the same number as before. */
#include "corpus.h"
#include <linux/close_range.h>
#include <sys/syscall.h>

int main(void) {
  int base = SYS(open("dup.dat", O_RDWR | O_CREAT | O_TRUNC, 0644));
  write_all(base, "0123456789", 10);
  int a = SYS(fcntl(base, F_DUPFD_CLOEXEC, 100));
  if (a != 100) fail("setup: F_DUPFD_CLOEXEC gave %d", a);
  SYS(dup3(base, 777, O_CLOEXEC));
  SYS(dup2(base, 600));
  for (int i = 200; i < 205; i++) SYS(dup2(base, i));
  if (syscall(SYS_close_range, 200u, 210u, CLOSE_RANGE_CLOEXEC)) skip("close_range(CLOSE_RANGE_CLOEXEC): %s", strerror(errno));
  SYS(lseek(base, 3, SEEK_SET));
  int lowest = SYS(dup(base));
  close(lowest);

  ready_wait();

  int want[][2] = {{base, 0}, {100, 1}, {777, 1}, {600, 0}, {200, 1}, {201, 1}, {202, 1}, {203, 1}, {204, 1}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    int f = fcntl(want[i][0], F_GETFD);
    CHECK(f >= 0, "descriptor %d is gone: %s", want[i][0], strerror(errno));
    CHECK(!!(f & FD_CLOEXEC) == want[i][1], "descriptor %d: FD_CLOEXEC %d, want %d", want[i][0], !!(f & FD_CLOEXEC), want[i][1]);
    CHECK(lseek(want[i][0], 0, SEEK_CUR) == 3, "descriptor %d at offset %lld, want 3 (not one description)", want[i][0],
          (long long)lseek(want[i][0], 0, SEEK_CUR));
  }
  CHECK(fcntl(205, F_GETFD) < 0 && errno == EBADF, "descriptor 205 exists");
  SYS(lseek(777, 7, SEEK_SET));
  char c;
  CHECK(read(200, &c, 1) == 1 && c == '7', "descriptors 777 and 200 do not share an offset");
  int d = dup(base);
  CHECK(d == lowest, "dup picks %d, want %d (the lowest free number)", d, lowest);
  pass();
}
