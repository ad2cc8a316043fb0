/* A pty pair (master and slave both ours, not our controlling terminal), the slave in raw-ish mode
 * with particular termios (no ECHO/ICANON, VMIN 3, VTIME 7, 57600 baud) and a 33x111 window, and
 * 13 bytes of output written to the slave and not yet read from the master. After restart
 * tcgetattr and TIOCGWINSZ read the same, the master reads the 13 bytes, and input written to the
 * master reaches the slave. */
#include "corpus.h"
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

int main(void) {
  int s;
  int m = pty_pair(0, 0, &s);
  struct termios t;
  SYS(tcgetattr(s, &t));
  t.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
  t.c_oflag &= ~(tcflag_t)OPOST;
  t.c_cc[VMIN] = 3;
  t.c_cc[VTIME] = 7;
  cfsetispeed(&t, B57600);
  cfsetospeed(&t, B57600);
  SYS(tcsetattr(s, TCSANOW, &t));
  struct winsize ws = {.ws_row = 33, .ws_col = 111};
  SYS(ioctl(m, TIOCSWINSZ, &ws));
  struct termios want;
  SYS(tcgetattr(s, &want));
  write_all(s, "unread output", 13);

  ready_wait();

  struct termios now;
  CHECK(!tcgetattr(s, &now), "tcgetattr on the slave: %s (not a terminal any more)", strerror(errno));
  CHECK(now.c_lflag == want.c_lflag && now.c_iflag == want.c_iflag && now.c_oflag == want.c_oflag && now.c_cflag == want.c_cflag,
        "termios flags differ (lflag %#x want %#x, oflag %#x want %#x)", now.c_lflag, want.c_lflag, now.c_oflag, want.c_oflag);
  CHECK(now.c_cc[VMIN] == 3 && now.c_cc[VTIME] == 7, "VMIN/VTIME %d/%d, want 3/7", now.c_cc[VMIN], now.c_cc[VTIME]);
  CHECK(cfgetospeed(&now) == B57600, "output speed changed");
  struct winsize w;
  SYS(ioctl(s, TIOCGWINSZ, &w));
  CHECK(w.ws_row == 33 && w.ws_col == 111, "window %dx%d, want 33x111", w.ws_row, w.ws_col);
  char b[32];
  struct pollfd p = {.fd = m, .events = POLLIN};
  CHECK(poll(&p, 1, 2000) == 1, "no unread output on the master");
  ssize_t n = read(m, b, sizeof b);
  CHECK(n == 13 && !memcmp(b, "unread output", 13), "master read %zd bytes, want 'unread output'", n);
  write_all(m, "abc", 3);
  p.fd = s;
  CHECK(poll(&p, 1, 2000) == 1, "input written to the master does not reach the slave");
  n = read(s, b, sizeof b);
  CHECK(n == 3 && !memcmp(b, "abc", 3), "slave read %zd bytes", n);
  pass();
}
