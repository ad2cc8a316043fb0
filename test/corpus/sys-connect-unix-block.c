/* connect() blocked on a Unix stream listener whose backlog is full (listen(0), one connection
 * pending, nobody accepting); only the go line (read by a thread, which then accepts) makes room.
 * connect must return 0 (never EINTR, never EAGAIN) and the two connections carry bytes each way. */
#include "corpus.h"
#include <sys/socket.h>
#include <sys/un.h>

static int lst;
static int acc[2] = {-1, -1};
static void accept1(void) {
  acc[0] = accept(lst, NULL, NULL);
  if (acc[0] < 0) fail("accept: %s", strerror(errno));
}

int main(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "amber-connect-block-%d", (int)getpid());
  socklen_t al = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
  lst = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  SYS(bind(lst, (struct sockaddr*)&a, al));
  SYS(listen(lst, 0));
  /* fill the backlog: non-blocking connects until one gets EAGAIN */
  int first = -1, filled = 0;
  for (int i = 0; i < 8 && !filled; i++) {
    int c = SYS(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    if (connect(c, (struct sockaddr*)&a, al) == 0) {
      if (first < 0) first = c;
      else fail("a second connection fitted in a listen(0) backlog");
    } else {
      CHECK(errno == EAGAIN, "connect %d: %s", i, strerror(errno));
      close(c);
      filled = 1;
    }
  }
  CHECK(filled && first >= 0, "could not fill the backlog");
  ready();
  pthread_t lt = line_thread(accept1);
  int c = SYS(socket(AF_UNIX, SOCK_STREAM, 0));
  int r = connect(c, (struct sockaddr*)&a, al);
  CHECK(r == 0, "blocking connect: %s", strerror(errno));
  CHECK(line_seen, "connect returned before the go line made room");
  pthread_join(lt, NULL);
  acc[1] = accept(lst, NULL, NULL);
  CHECK(acc[0] >= 0 && acc[1] >= 0, "accept: %s", strerror(errno));
  /* acc[0] is the first connection, acc[1] the blocked one (FIFO backlog) */
  SYS(write(c, "B", 1));
  SYS(fcntl(first, F_SETFL, 0));
  SYS(write(first, "A", 1));
  char x, y;
  read_exact(acc[0], &x, 1, "first connection");
  read_exact(acc[1], &y, 1, "blocked connection");
  CHECK(x == 'A' && y == 'B', "bytes crossed: first got %c, blocked got %c", x, y);
  SYS(write(acc[1], "b", 1));
  read_exact(c, &y, 1, "reply");
  CHECK(y == 'b', "reply %c", y);
  pass();
}
