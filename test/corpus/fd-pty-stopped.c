/* Two ptys whose output is stopped at the checkpoint, with input and output queued:
 * A by the stop character (^S typed under IXON): canonical, no echo; "before\n" written by the
 * slave, then ^S and "in\n" from the master. After restart the master reads "before\r\n" only,
 * the slave cannot write (EAGAIN), reads "in\n"; ^Q from the master starts it: "after\n" comes.
 * B by tcflow(TCOOFF) on the slave, raw: "bout" then the stop, "bin" typed. After restart the
 * same, until tcflow(TCOON); ^Q does not start it. */
#include "corpus.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

static void settle_in(int s, int want) {
  int n = 0;
  for (int i = 0; i < 10000 && n < want; i++) {
    SYS(ioctl(s, FIONREAD, &n));
    if (n < want) usleep(1000);
  }
  CHECK(n == want, "the slave holds %d bytes of input, want %d", n, want);
}

/* What the master reads: until want bytes came and nothing more within 200 ms, or ms of quiet. */
static size_t drain(int m, char* b, size_t cap, size_t want, int ms) {
  size_t got = 0;
  for (;;) {
    if (got >= want) ms = 200;
    struct pollfd p = {.fd = m, .events = POLLIN};
    if (poll(&p, 1, ms) != 1) break;
    ssize_t r = read(m, b + got, cap - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
}

static void cannot_write(int s, const char* who) {
  ssize_t w = write(s, "x", 1);
  CHECK(w < 0 && errno == EAGAIN, "%s: the slave wrote (%zd): its output is not stopped any more", who, w);
}

int main(void) {
  int sa, sb;
  int ma = pty_pair(0, O_NONBLOCK, &sa), mb = pty_pair(0, O_NONBLOCK, &sb);
  struct termios t;
  SYS(tcgetattr(sa, &t));
  t.c_lflag &= ~(tcflag_t)ECHO;
  t.c_iflag |= IXON;
  t.c_cc[VSTOP] = 0x13;
  t.c_cc[VSTART] = 0x11;
  SYS(tcsetattr(sa, TCSANOW, &t));
  write_all(sa, "before\n", 7);
  write_all(ma, "\x13", 1);
  write_all(ma, "in\n", 3);
  settle_in(sa, 3);
  cannot_write(sa, "A before");

  SYS(tcgetattr(sb, &t));
  cfmakeraw(&t);
  t.c_iflag |= IXON;  /* (^Q must not start a TCOOFF stop) */
  SYS(tcsetattr(sb, TCSANOW, &t));
  write_all(sb, "bout", 4);
  SYS(tcflow(sb, TCOOFF));
  write_all(mb, "bin", 3);
  settle_in(sb, 3);
  cannot_write(sb, "B before");

  ready_wait();

  char b[256];
  size_t got = drain(ma, b, sizeof b, 8, 2000);
  CHECK(got == 8 && !memcmp(b, "before\r\n", 8), "A: master read %zu bytes '%.*s', want 'before\\r\\n' only", got, (int)got, b);
  cannot_write(sa, "A");
  ssize_t r = read(sa, b, sizeof b);
  CHECK(r == 3 && !memcmp(b, "in\n", 3), "A: slave read %zd, want 'in\\n'", r);
  write_all(ma, "\x11", 1);
  int ok = 0;
  for (int i = 0; i < 5000 && !ok; i++) {
    ok = write(sa, "after\n", 6) == 6;
    if (!ok) usleep(1000);
  }
  CHECK(ok, "A: ^Q does not start the output");
  got = drain(ma, b, sizeof b, 7, 2000);
  CHECK(got == 7 && !memcmp(b, "after\r\n", 7), "A: master read %zu bytes after ^Q, want 'after\\r\\n'", got);

  got = drain(mb, b, sizeof b, 4, 2000);
  CHECK(got == 4 && !memcmp(b, "bout", 4), "B: master read %zu bytes, want 'bout' only", got);
  cannot_write(sb, "B");
  r = read(sb, b, sizeof b);
  CHECK(r == 3 && !memcmp(b, "bin", 3), "B: slave read %zd, want 'bin'", r);
  write_all(mb, "\x11", 1);
  usleep(100000);
  cannot_write(sb, "B after ^Q");
  SYS(tcflow(sb, TCOON));
  CHECK(write(sb, "go", 2) == 2, "B: TCOON does not start the output");
  got = drain(mb, b, sizeof b, 2, 2000);
  CHECK(got == 2 && !memcmp(b, "go", 2), "B: master read %zu bytes after TCOON, want 'go'", got);
  pass();
}
