/* A pty master in packet mode (TIOCPKT, as telnetd/rlogind-like servers use it) with output the
 * slave wrote and input the slave has not read yet. After restart the master is still in packet
 * mode: each read is a TIOCPKT_DATA byte then data, the data is the output then the echo of the
 * input (once), the slave reads the input line, and a flush on the slave comes to the master as a
 * status byte. */
#include "corpus.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

int main(void) {
  int s;
  int m = pty_pair(0, 0, &s);
  int on = 1;
  if (ioctl(m, TIOCPKT, &on) < 0) skip("TIOCPKT: %s", strerror(errno));
  write_all(s, "pkt out\n", 8);
  write_all(m, "in line\r", 8);
  int n = 0;
  for (int i = 0; i < 10000 && n < 8; i++) {
    SYS(ioctl(s, FIONREAD, &n));
    if (n < 8) usleep(1000);
  }
  CHECK(n == 8, "the slave holds %d bytes of input, want 8", n);
  usleep(100000);  /* (the echo written) */

  ready_wait();

  int pkt = -1;
  SYS(ioctl(m, TIOCGPKT, &pkt));
  CHECK(pkt == 1, "the master is not in packet mode any more (TIOCGPKT %d)", pkt);
  static const char want[] = "pkt out\r\nin line\r\n";
  char data[256], b[256];
  size_t got = 0;
  while (got < sizeof want - 1) {
    struct pollfd p = {.fd = m, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1) break;
    ssize_t r = read(m, b, sizeof b);
    CHECK(r >= 1, "master read %zd", r);
    CHECK(b[0] == TIOCPKT_DATA, "master read a status %#x, want TIOCPKT_DATA then data", (unsigned char)b[0]);
    CHECK(r > 1, "master read a packet with no data");
    memcpy(data + got, b + 1, (size_t)r - 1);
    got += (size_t)r - 1;
  }
  CHECK(got == sizeof want - 1 && !memcmp(data, want, got), "master read %zu bytes of data '%.*s', want the output and the echo once", got, (int)got, data);
  SYS(ioctl(s, FIONREAD, &n));
  CHECK(n == 8, "slave FIONREAD %d, want 8", n);
  ssize_t r = read(s, b, sizeof b);
  CHECK(r == 8 && !memcmp(b, "in line\n", 8), "slave read %zd bytes, want 'in line\\n'", r);
  SYS(tcflush(s, TCIFLUSH));
  struct pollfd p = {.fd = m, .events = POLLIN | POLLPRI};
  CHECK(poll(&p, 1, 2000) == 1, "no status on the master after a flush on the slave");
  r = read(m, b, sizeof b);
  CHECK(r == 1 && (b[0] & TIOCPKT_FLUSHREAD), "master read %zd bytes (%#x), want the TIOCPKT_FLUSHREAD status", r, (unsigned char)b[0]);
  pass();
}
