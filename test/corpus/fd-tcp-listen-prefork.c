/* A prefork server: one blocking TCP listener on 127.0.0.1 held by us and four children, each of
 * them blocked in accept() and answering each connection with its number, plus two connections
 * waiting in the accept queue while the workers are held (a checkpoint that ends the program takes
 * queued connections from the listener in every holder at once). After the restart the listener
 * is still blocking, the two queued connections are answered, and ten new clients are. */
#include "net.h"
#include <poll.h>

static int gate[2];

static void worker(int l, int k) {
  char ch;
  if (read(gate[0], &ch, 1) != 1) _exit(10);  // held until the two connections are queued
  for (;;) {
    int s = accept(l, NULL, NULL);
    if (s < 0) _exit(11);
    char b[8];
    if (read(s, b, 1) != 1) _exit(12);
    write_all(s, &"0123"[k], 1);
    close(s);
  }
}

static void ask(int c, const char* what) {
  write_all(c, "?", 1);
  char b;
  struct pollfd p = {.fd = c, .events = POLLIN};
  CHECK(poll(&p, 1, 5000) == 1, "%s: no answer within 5 s", what);
  CHECK(read(c, &b, 1) == 1 && b >= '0' && b <= '3', "%s: the answer", what);
  close(c);
}

int main(void) {
  int l = tcp_listener(16);
  uint16_t port = port_of(l);
  SYS(pipe(gate));
  for (int k = 0; k < 4; k++) {
    pid_t kid = SYS(fork());
    if (kid == 0) worker(l, k);
    peer(kid);
  }
  int q1 = tcp_connect(port), q2 = tcp_connect(port);
  for (int i = 0; i < 100 && getint(l, SOL_SOCKET, SO_ACCEPTCONN) != 1; i++) usleep(10000);
  ready();
  // the workers go on only after the checkpoint had a chance to find the queue full
  read_line();
  write_all(gate[1], "gggg", 4);

  CHECK(!(fcntl(l, F_GETFL) & O_NONBLOCK), "the listener became non-blocking");
  ask(q1, "the first queued connection");
  ask(q2, "the second queued connection");
  for (int i = 0; i < 10; i++) ask(tcp_connect(port), "a new client");
  pass();
}
