/* connect() blocked on a TCP listener (127.0.0.1) whose accept queue is full (listen(0), one
 * connection pending, nobody accepting: the kernel drops the SYN and the client sends it again);
 * only the go line (read by a thread, which then accepts) makes room. connect must return 0 (never
 * EINTR, ETIMEDOUT or ECONNREFUSED) and both connections carry bytes. */
#include "net.h"

static int lst;
static int acc0 = -1;
static void accept1(void) {
  acc0 = accept(lst, NULL, NULL);
  if (acc0 < 0) fail("accept: %s", strerror(errno));
}

int main(void) {
  lst = tcp_listener(0);
  int first = tcp_connect(port_of(lst));
  /* wait until the first one is in the accept queue (TCP_INFO of a listener: tcpi_unacked) */
  for (int i = 0; i < 2000; i++) {
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    if (getsockopt(lst, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_unacked >= 1) break;
    usleep(1000);
  }
  ready();
  pthread_t lt = line_thread(accept1);
  int c = SYS(socket(AF_INET, SOCK_STREAM, 0));
  struct sockaddr_in a = lo4(port_of(lst));
  int r = connect(c, (struct sockaddr*)&a, sizeof a);
  CHECK(r == 0, "blocking connect: %s", strerror(errno));
  pthread_join(lt, NULL);
  int acc1 = accept(lst, NULL, NULL);
  CHECK(acc0 >= 0 && acc1 >= 0, "accept: %s", strerror(errno));
  SYS(write(first, "A", 1));
  SYS(write(c, "B", 1));
  char x, y;
  read_exact(acc0, &x, 1, "first connection");
  read_exact(acc1, &y, 1, "blocked connection");
  CHECK(x == 'A' && y == 'B', "bytes crossed: first got %c, blocked got %c", x, y);
  SYS(write(acc1, "b", 1));
  read_exact(c, &y, 1, "reply");
  CHECK(y == 'b', "reply %c", y);
  pass();
}
