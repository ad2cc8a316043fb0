/* Terminal input waiting for readers in other processes, an expect-like driver: we hold two pty
 * masters, and so does a child of ours (the holders take turns at the checkpoint).
 *
 * R1, a session whose controlling terminal is slave 1 (canonical, echo on), is blocked in read()
 * with "abc" typed (a partial line) at the checkpoint; after restart we type "def\r" and its read
 * returns the one line "abcdef\n".
 *
 * R2 holds slave 2 with its own settings: canonical, no echo, VEOL ';', VEOL2 '|' (IEXTEN),
 * IUTF8, ISIG, and has not read anything: the input is "one;" "two|" "\xc3\xa9t\xc3\xa9\n" (three
 * lines ended three ways), then the partial line "^V;^V^C\xc3\xa9-" (an escaped ';' and ^C are
 * plain bytes in it) and "zz^W" (a word erased: IEXTEN's VWERASE) after it. After restart it
 * reads the three lines, then we type "end\n" and it reads ";\x03\xc3\xa9-end\n" as one line. */
#include "corpus.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static int res[2];  /* the readers' reports: one line each */

static void report(const char* who, const char* want, const char* got, ssize_t n) {
  char msg[256];
  if (n == (ssize_t)strlen(want) && !memcmp(got, want, (size_t)n)) snprintf(msg, sizeof msg, "%s ok\n", who);
  else {
    int k = snprintf(msg, sizeof msg, "%s read %zd bytes:", who, n);
    for (ssize_t i = 0; i < n && k < (int)sizeof msg - 6; i++) k += snprintf(msg + k, sizeof msg - (size_t)k, " %02x", (unsigned char)got[i]);
    snprintf(msg + k, sizeof msg - (size_t)k, "\n");
  }
  write_all(res[1], msg, strlen(msg));
}

static size_t collect(char* buf, size_t cap, int lines) {
  size_t got = 0;
  double end = now_mono() + 10;
  while (lines > 0 && now_mono() < end) {
    struct pollfd p = {.fd = res[0], .events = POLLIN};
    if (poll(&p, 1, 200) != 1) continue;
    ssize_t r = read(res[0], buf + got, cap - 1 - got);
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; i++) lines -= buf[got + (size_t)i] == '\n';
    got += (size_t)r;
  }
  buf[got] = 0;
  return got;
}

int main(void) {
  int s1, s2;
  int m1 = pty_pair(0, 0, &s1), m2 = pty_pair(0, 0, &s2);
  SYS(pipe(res));
  int go[2], back[2];
  SYS(pipe(go));
  SYS(pipe(back));

  /* R1: a session on slave 1, in read() when the checkpoint comes. */
  int r1ready[2];
  SYS(pipe(r1ready));
  pid_t r1 = SYS(fork());
  if (r1 == 0) {
    setsid();
    if (ioctl(s1, TIOCSCTTY, 0) < 0) _exit(3);
    close(m1);
    close(m2);
    write_all(r1ready[1], "r", 1);
    char b[256];
    ssize_t n = read(s1, b, sizeof b);
    report("R1", "abcdef\n", b, n);
    _exit(0);
  }
  peer(r1);
  char c;
  read_exact(r1ready[0], &c, 1, "R1 start");

  /* R2: its own settings, reads once told to. */
  struct termios t;
  SYS(tcgetattr(s2, &t));
  t.c_lflag = (t.c_lflag | ICANON | IEXTEN | ISIG) & ~(tcflag_t)(ECHO | ECHONL);
  t.c_iflag |= IUTF8;
  t.c_cc[VEOL] = ';';
  t.c_cc[VEOL2] = '|';
  SYS(tcsetattr(s2, TCSANOW, &t));
  pid_t r2 = SYS(fork());
  if (r2 == 0) {
    close(m1);
    close(m2);
    read_exact(go[0], &c, 1, "R2 go");
    fcntl(s2, F_SETFL, O_NONBLOCK);
    char b[256];
    ssize_t n = read(s2, b, sizeof b);
    report("R2 line 1", "one;", b, n);
    n = read(s2, b, sizeof b);
    report("R2 line 2", "two|", b, n);
    n = read(s2, b, sizeof b);
    report("R2 line 3", "\xc3\xa9t\xc3\xa9\n", b, n);
    n = read(s2, b, sizeof b);
    report("R2 partial", "", b, n < 0 && errno == EAGAIN ? 0 : (n ? n : 99));
    fcntl(s2, F_SETFL, 0);
    write_all(back[1], "g", 1);  /* (to the parent: the partial line is still pending) */
    n = read(s2, b, sizeof b);
    report("R2 line 4", ";\x03\xc3\xa9-end\n", b, n);
    _exit(0);
  }
  peer(r2);
  /* Another holder of both masters. */
  pid_t h = SYS(fork());
  if (h == 0) {
    for (;;) pause();
  }
  peer(h);

  write_all(m2, "one;two|\xc3\xa9t\xc3\xa9\n", 14);
  write_all(m2, "\x16;\x16\x03\xc3\xa9-zz\x17", 10);
  write_all(m1, "abc", 3);
  int n = 0;
  for (int i = 0; i < 10000 && n < 4 + 4 + 6; i++) {
    SYS(ioctl(s2, FIONREAD, &n));
    if (n < 14) usleep(1000);
  }
  CHECK(n == 14, "slave 2 holds %d bytes of complete lines, want 14", n);
  usleep(100000);  /* R1 into its read(), the echo of "abc" written */

  ready_wait();

  write_all(go[1], "g", 1);
  char rep[1024];
  /* R2 reads its three lines and finds the partial line not complete, then says so. */
  collect(rep, sizeof rep, 4);
  CHECK(!strcmp(rep, "R2 line 1 ok\nR2 line 2 ok\nR2 line 3 ok\nR2 partial ok\n"), "R2: %s", rep);
  read_exact(back[0], &c, 1, "R2 ready for line 4");
  write_all(m2, "end\n", 4);
  collect(rep, sizeof rep, 1);
  CHECK(!strcmp(rep, "R2 line 4 ok\n"), "R2: %s", rep);
  write_all(m1, "def\r", 4);
  collect(rep, sizeof rep, 1);
  CHECK(!strcmp(rep, "R1 ok\n"), "R1: %s", rep);
  /* The master of R1's terminal: the echo of "abc" then of "def\r", once each. */
  char o[64];
  size_t got = 0;
  for (;;) {
    struct pollfd p = {.fd = m1, .events = POLLIN};
    if (poll(&p, 1, 300) != 1) break;
    ssize_t r = read(m1, o + got, sizeof o - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  CHECK(got == 8 && !memcmp(o, "abcdef\r\n", 8), "master 1 read %zu bytes '%.*s', want the echo 'abcdef\\r\\n'", got, (int)got, o);
  pass();
}
