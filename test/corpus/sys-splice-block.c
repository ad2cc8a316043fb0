/* splice() from an empty pipe into a second pipe, blocked across the checkpoint; only the go line
 * (read by a thread, which then writes 7 bytes into the first pipe) may end it. splice must move
 * those 7 bytes (never EINTR, never 0), and the second pipe then holds exactly them. */
#include "corpus.h"

static int a[2], b[2];
static void feed(void) {
  if (write(a[1], "spliced", 7) != 7) fail("write: %s", strerror(errno));
}

int main(void) {
  SYS(pipe(a));
  SYS(pipe(b));
  ready();
  line_thread(feed);
  ssize_t n = splice(a[0], NULL, b[1], NULL, 4096, 0);
  CHECK(n >= 0, "splice: %s", strerror(errno));
  CHECK(line_seen, "splice returned %zd before the go line", n);
  CHECK(n == 7, "splice moved %zd bytes, want 7", n);
  char got[8];
  read_exact(b[0], got, 7, "the spliced bytes");
  CHECK(!memcmp(got, "spliced", 7), "the spliced bytes differ");
  expect_empty(b[0], "second pipe");
  expect_empty(a[0], "first pipe");
  pass();
}
