/* msgsnd blocked on a full SysV message queue (msg_qbytes lowered to 64, 60 bytes queued); only
 * the go line (read by a thread, which then receives the queued message) may make room. msgsnd
 * must return 0 (never EINTR) after the go line, and the queue then holds exactly the new
 * message. */
#include "corpus.h"
#include <sys/ipc.h>
#include <sys/msg.h>

static int q = -1;
struct m64 {
  long type;
  char text[60];
};
static void drain(void) {
  struct m64 m;
  if (msgrcv(q, &m, sizeof m.text, 1, IPC_NOWAIT) != 60) fail("draining the first message: %s", strerror(errno));
}
static void rm(void) { msgctl(q, IPC_RMID, NULL); }

int main(void) {
  q = SYS(msgget(IPC_PRIVATE, IPC_CREAT | 0600));
  on_exit_cleanup(rm);
  struct msqid_ds ds;
  SYS(msgctl(q, IPC_STAT, &ds));
  ds.msg_qbytes = 64;
  SYS(msgctl(q, IPC_SET, &ds));
  struct m64 m = {.type = 1};
  memset(m.text, 'a', sizeof m.text);
  SYS(msgsnd(q, &m, sizeof m.text, 0));
  ready();
  line_thread(drain);
  struct m64 n = {.type = 2};
  memset(n.text, 'b', sizeof n.text);
  int r = msgsnd(q, &n, sizeof n.text, 0);
  CHECK(r == 0, "msgsnd: %s", strerror(errno));
  CHECK(line_seen, "msgsnd returned before the go line (the queue was full)");
  SYS(msgctl(q, IPC_STAT, &ds));
  CHECK(ds.msg_qnum == 1, "%lu messages queued, want 1", (unsigned long)ds.msg_qnum);
  struct m64 got;
  CHECK(msgrcv(q, &got, sizeof got.text, 0, IPC_NOWAIT) == 60 && got.type == 2 && got.text[0] == 'b', "the queued message is not ours");
  pass();
}
