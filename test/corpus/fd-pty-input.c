/* Terminal input the program on the slave side has not read yet, kept through C/R, beside the
 * master's unread output.
 *
 * Pair A, a canonical slave with the default settings (ICANON, ECHO, ICRNL, ISIG, IEXTEN): the
 * master wrote "ping\r" (a complete line; ICRNL made it "ping\n"), "a^V\nb\n" (one line holding an
 * escaped newline), "eof^D" (a line ended by EOF: read gives "eof"), a bare ^D (read gives 0) and
 * "parX^?" (a partial line, its X erased). The echo of all that, and "out1\n" the slave wrote, sit
 * unread in the master. After restart the slave reads the same lines, the partial line stays
 * unfinished (nothing to read) until "tial\r" completes it as the single line "partial\n", and the
 * master reads the output and the echo once, in order (an echo of the saved input made again
 * would show here).
 *
 * Pair B, a raw slave (cfmakeraw): binary bytes incl. ^C ^D ^? \r \0 ^S ^Q 0xff written by the
 * master must come back exactly, not interpreted; "rawout" the slave wrote is unread in the
 * master.
 *
 * Pair C, canonical with echo, its input ending with a bare EOF (nothing being edited): "x\n" then
 * ^D. After restart: "x\n", then 0, then nothing; the master reads the echo "x\r\n" once. */
#include "corpus.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

/* Waits (10 s at most) until FIONREAD on fd reaches want: input the kernel processes later. */
static int settle(int fd, int want) {
  int n = -1;
  for (int i = 0; i < 10000; i++) {
    if (ioctl(fd, FIONREAD, &n) < 0) fail("FIONREAD: %s", strerror(errno));
    if (n >= want) return n;
    usleep(1000);
  }
  return n;
}

static ssize_t read_nb(int fd, void* b, size_t n) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  ssize_t r = read(fd, b, n);
  int e = errno;
  fcntl(fd, F_SETFL, fl);
  errno = e;
  return r;
}

/* Everything the master can read within a short quiet time. */
static size_t drain(int m, char* b, size_t cap) {
  size_t got = 0;
  for (;;) {
    struct pollfd p = {.fd = m, .events = POLLIN};
    if (poll(&p, 1, 300) != 1) break;
    ssize_t r = read(m, b + got, cap - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  return got;
}

static void show(const char* what, const char* b, size_t n) {
  char o[512];
  size_t k = 0;
  for (size_t i = 0; i < n && k + 5 < sizeof o; i++) {
    unsigned char c = (unsigned char)b[i];
    if (c >= 32 && c < 127 && c != '\\') o[k++] = (char)c;
    else k += (size_t)snprintf(o + k, sizeof o - k, "\\x%02x", c);
  }
  o[k] = 0;
  say("%s (%zu bytes): %s", what, n, o);
}

int main(void) {
  int sa, sb, sc;
  int ma = pty_pair(0, 0, &sa), mb = pty_pair(0, 0, &sb), mc = pty_pair(0, 0, &sc);

  /* A: canonical, the defaults a pty starts with. */
  struct termios ta;
  SYS(tcgetattr(sa, &ta));
  if (!(ta.c_lflag & ICANON) || !(ta.c_lflag & ECHO)) skip("a new pty is not canonical with echo here");
  write_all(sa, "out1\n", 5);
  write_all(ma, "ping\r", 5);
  write_all(ma, "a\x16\nb\n", 5);
  write_all(ma, "eof\x04", 4);
  write_all(ma, "\x04", 1);
  write_all(ma, "parX\x7f", 5);
  /* canonical FIONREAD counts complete lines: "ping\n" + "a\nb\n" + "eof" */
  int ina = settle(sa, 5 + 4 + 3);
  CHECK(ina == 12, "slave A has %d bytes of complete lines, want 12", ina);

  /* B: raw. */
  struct termios tb;
  SYS(tcgetattr(sb, &tb));
  cfmakeraw(&tb);
  SYS(tcsetattr(sb, TCSANOW, &tb));
  static const char bin[] = "\x03\x04\x7f\r\n\0\x13\x11\xff\x1a\x1c" "bytes\x15\x17\x16";
  const size_t nbin = sizeof bin - 1;
  write_all(sb, "rawout", 6);
  write_all(mb, bin, nbin);
  int inb = settle(sb, (int)nbin);
  CHECK(inb == (int)nbin, "slave B has %d bytes, want %zu", inb, nbin);
  int outb = settle(mb, 6);
  CHECK(outb == 6, "master B has %d bytes of output, want 6", outb);
  /* C: canonical, ends with a bare EOF. */
  write_all(mc, "x\n\x04", 3);
  int inc = settle(sc, 2);
  CHECK(inc == 2, "slave C has %d bytes of complete lines, want 2", inc);
  int outc = settle(mc, 3);
  CHECK(outc == 3, "master C has %d bytes of echo, want 3", outc);
  /* A's echo is written by the kernel's input processing: settled once it stops growing. */
  int outa = settle(ma, 6), last = -1;
  for (int i = 0; i < 50 && outa != last; i++) {
    usleep(20000);
    last = outa;
    SYS(ioctl(ma, FIONREAD, &outa));
  }

  ready_wait();

  /* A: the input, line by line, and the line being edited. */
  int n;
  SYS(ioctl(sa, FIONREAD, &n));
  CHECK(n == ina, "slave A: FIONREAD %d, was %d", n, ina);
  char b[256];
  ssize_t r = read_nb(sa, b, sizeof b);
  CHECK(r == 5 && !memcmp(b, "ping\n", 5), "slave A: first line %zd bytes '%.*s', want 'ping\\n'", r, (int)(r > 0 ? r : 0), b);
  r = read_nb(sa, b, sizeof b);
  CHECK(r == 4 && !memcmp(b, "a\nb\n", 4), "slave A: second line %zd bytes, want 'a\\nb\\n' (one line with an escaped newline)", r);
  r = read_nb(sa, b, sizeof b);
  CHECK(r == 3 && !memcmp(b, "eof", 3), "slave A: third line %zd bytes, want 'eof' (ended by ^D)", r);
  r = read_nb(sa, b, sizeof b);
  CHECK(r == 0, "slave A: read %zd (%s), want 0 (a bare ^D)", r, r < 0 ? strerror(errno) : "data");
  r = read_nb(sa, b, sizeof b);
  CHECK(r < 0 && errno == EAGAIN, "slave A: read %zd, want EAGAIN (the partial line is not complete)", r);
  write_all(ma, "tial\r", 5);
  struct pollfd p = {.fd = sa, .events = POLLIN};
  CHECK(poll(&p, 1, 5000) == 1, "slave A: the completed line never comes");
  r = read_nb(sa, b, sizeof b);
  CHECK(r == 8 && !memcmp(b, "partial\n", 8), "slave A: completed line %zd bytes '%.*s', want 'partial\\n'", r, (int)(r > 0 ? r : 0), b);
  r = read_nb(sa, b, sizeof b);
  CHECK(r < 0 && errno == EAGAIN, "slave A: read %zd after the last line, want EAGAIN", r);
  struct termios now;
  SYS(tcgetattr(sa, &now));
  CHECK(now.c_lflag == ta.c_lflag && now.c_iflag == ta.c_iflag && now.c_oflag == ta.c_oflag && !memcmp(now.c_cc, ta.c_cc, sizeof now.c_cc),
        "slave A: termios changed (lflag %#x want %#x, iflag %#x want %#x)", now.c_lflag, ta.c_lflag, now.c_iflag, ta.c_iflag);

  /* A's master: the output, then the echo of the input, once; then the echo of "tial\r". */
  char o[1024];
  size_t got = drain(ma, o, sizeof o);
  static const char want_a[] = "out1\r\nping\r\na^\b^Jb\r\neofparX\b \btial\r\n";
  if (got != sizeof want_a - 1 || memcmp(o, want_a, got)) {
    show("master A read", o, got);
    show("want", want_a, sizeof want_a - 1);
    fail("master A: output and echo differ (%zu bytes, want %zu)", got, sizeof want_a - 1);
  }

  /* B: the raw bytes exactly, and the output. */
  SYS(ioctl(sb, FIONREAD, &n));
  CHECK(n == inb, "slave B: FIONREAD %d, was %d", n, inb);
  char in[64];
  size_t k = 0;
  while (k < nbin) {
    r = read_nb(sb, in + k, sizeof in - k);
    if (r <= 0) break;
    k += (size_t)r;
  }
  if (k != nbin || memcmp(in, bin, nbin)) {
    show("slave B read", in, k);
    show("want", bin, nbin);
    fail("slave B: raw input differs");
  }
  r = read_nb(sb, in, sizeof in);
  CHECK(r < 0 && errno == EAGAIN, "slave B: read %zd after the bytes, want EAGAIN", r);
  got = drain(mb, o, sizeof o);
  CHECK(got == 6 && !memcmp(o, "rawout", 6), "master B read %zu bytes of output, want 'rawout'", got);

  /* C: the line, the EOF, nothing more; the echo once. */
  r = read_nb(sc, b, sizeof b);
  CHECK(r == 2 && !memcmp(b, "x\n", 2), "slave C: read %zd, want 'x\\n'", r);
  r = read_nb(sc, b, sizeof b);
  CHECK(r == 0, "slave C: read %zd (%s), want 0 (the bare ^D)", r, r < 0 ? strerror(errno) : "data");
  r = read_nb(sc, b, sizeof b);
  CHECK(r < 0 && errno == EAGAIN, "slave C: read %zd after the EOF, want EAGAIN", r);
  got = drain(mc, o, sizeof o);
  if (got != 3 || memcmp(o, "x\r\n", 3)) {
    show("master C read", o, got);
    fail("master C: want the echo 'x\\r\\n' once");
  }

  /* Both still work. */
  write_all(mb, "\x03z", 2);
  p.fd = sb;
  CHECK(poll(&p, 1, 5000) == 1, "slave B: new input does not come");
  r = read_nb(sb, in, sizeof in);
  CHECK(r == 2 && !memcmp(in, "\x03z", 2), "slave B: new input %zd bytes", r);
  pass();
}
