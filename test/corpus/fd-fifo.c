/* A FIFO opened by path (a reader and a writer in this process), 5 bytes in flight: after restart
 * the descriptor is still a FIFO, the bytes come back, and it is still the FIFO at that path: a
 * fresh open of the path for writing reaches our reader. */
#include "corpus.h"

int main(void) {
  SYS(mkfifo("fifo", 0600));
  int r = SYS(open("fifo", O_RDONLY | O_NONBLOCK));
  int w = SYS(open("fifo", O_WRONLY));
  write_all(w, "hello", 5);
  struct stat st0;
  SYS(stat("fifo", &st0));

  ready_wait();

  struct stat st;
  SYS(fstat(r, &st));
  CHECK(S_ISFIFO(st.st_mode), "the reader is not a FIFO (mode %o)", st.st_mode);
  CHECK(st.st_ino == st0.st_ino, "the reader is not the FIFO at the path (ino %lu, want %lu)", (unsigned long)st.st_ino,
        (unsigned long)st0.st_ino);
  char b[16];
  ssize_t n = read(r, b, sizeof b);
  CHECK(n == 5 && !memcmp(b, "hello", 5), "in-flight bytes: read %zd", n);
  int w2 = open("fifo", O_WRONLY | O_NONBLOCK);
  CHECK(w2 >= 0, "open the FIFO for writing: %s (no reader on it any more)", strerror(errno));
  write_all(w2, "world", 5);
  n = read(r, b, sizeof b);
  CHECK(n == 5 && !memcmp(b, "world", 5), "bytes written through the path did not reach the reader (%zd)", n);
  write_all(w, "!", 1);
  n = read(r, b, sizeof b);
  CHECK(n == 1 && b[0] == '!', "the old writer no longer reaches the reader");
  pass();
}
