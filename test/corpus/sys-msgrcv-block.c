/* The main thread blocks in msgrcv(type 5) on a SysV queue that holds one type-3 message; only the
 * go line (read by another thread, which then sends a type-5 message) may wake it. msgrcv must
 * return the type-5 message, never EINTR, and the type-3 message must still be queued. */
#include "corpus.h"
#include <sys/ipc.h>
#include <sys/msg.h>

struct m { long type; char text[32]; };
static int id;
static void rm(void) { msgctl(id, IPC_RMID, NULL); }
static void send5(void) {
  struct m x = {5, "wake"};
  if (msgsnd(id, &x, 5, 0)) fail("msgsnd: %s", strerror(errno));
}

int main(void) {
  id = SYS(msgget(IPC_PRIVATE, 0600));
  on_exit_cleanup(rm);
  struct m o = {3, "other"};
  SYS(msgsnd(id, &o, 6, 0));
  ready();
  line_thread(send5);
  struct m in = {0, ""};
  ssize_t n = msgrcv(id, &in, sizeof in.text, 5, 0);
  CHECK(n >= 0, "msgrcv: %s", strerror(errno));
  CHECK(line_seen, "msgrcv returned before the go line");
  CHECK(n == 5 && in.type == 5 && !strcmp(in.text, "wake"), "msgrcv got type %ld '%s'", in.type, in.text);
  n = msgrcv(id, &in, sizeof in.text, 0, IPC_NOWAIT);
  CHECK(n == 6 && in.type == 3 && !strcmp(in.text, "other"), "the type-3 message: %zd (%s)", n, n < 0 ? strerror(errno) : in.text);
  pass();
}
