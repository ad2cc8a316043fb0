/* open() of a FIFO for reading blocks until a writer comes; the main thread sits in it across the
 * checkpoint, and only the go line (read by a thread, which then opens the FIFO for writing and
 * writes 5 bytes) may end it. open must return a descriptor (never EINTR), which reads the 5 bytes
 * and then EOF. */
#include "corpus.h"

static void writer(void) {
  int w = open("blk.fifo", O_WRONLY);
  if (w < 0) fail("open for writing: %s", strerror(errno));
  write_all(w, "fifo!", 5);
  close(w);
}

int main(void) {
  SYS(mkfifo("blk.fifo", 0600));
  ready();
  line_thread(writer);
  int r = open("blk.fifo", O_RDONLY);
  CHECK(r >= 0, "open of the FIFO: %s", strerror(errno));
  CHECK(line_seen, "open returned before the go line");
  char b[8];
  read_exact(r, b, 5, "the FIFO");
  CHECK(!memcmp(b, "fifo!", 5), "wrong bytes");
  char c;
  ssize_t n = read(r, &c, 1);
  CHECK(n == 0, "read after the writer closed returned %zd, want EOF", n);
  pass();
}
