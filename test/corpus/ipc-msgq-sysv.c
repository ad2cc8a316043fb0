/* A SysV message queue with three messages of types 1, 2 and 3 (different sizes): after restart
 * the same id reports 3 messages, msgrcv by type takes type 2 first (out of order), then the rest
 * in order with their exact sizes, and the queue's mode and size limit are the same. */
#include "corpus.h"
#include <sys/ipc.h>
#include <sys/msg.h>

struct m { long type; char text[256]; };
static int id = -1;
static void rm(void) { msgctl(id, IPC_RMID, NULL); }

int main(void) {
  id = SYS(msgget(IPC_PRIVATE, 0640));
  on_exit_cleanup(rm);
  struct msqid_ds ds;
  SYS(msgctl(id, IPC_STAT, &ds));
  ds.msg_qbytes = 8000;
  SYS(msgctl(id, IPC_SET, &ds));
  const char* t[3] = {"one", "type two, longer", "3"};
  for (int i = 0; i < 3; i++) {
    struct m x = {i + 1, ""};
    strcpy(x.text, t[i]);
    SYS(msgsnd(id, &x, strlen(t[i]), 0));
  }

  ready_wait();

  CHECK(!msgctl(id, IPC_STAT, &ds), "IPC_STAT on queue %d: %s", id, strerror(errno));
  CHECK(ds.msg_qnum == 3, "%lu messages queued, want 3", (unsigned long)ds.msg_qnum);
  CHECK(ds.msg_qbytes == 8000, "queue limit %lu, want 8000", (unsigned long)ds.msg_qbytes);
  CHECK((ds.msg_perm.mode & 0777) == 0640, "mode %o, want 640", ds.msg_perm.mode & 0777);
  int order[3] = {2, 1, 3};
  for (int i = 0; i < 3; i++) {
    struct m x = {0, ""};
    ssize_t n = msgrcv(id, &x, sizeof x.text, i == 0 ? 2 : 0, IPC_NOWAIT);
    int w = order[i];
    CHECK(n >= 0, "receive %d: %s", i + 1, strerror(errno));
    CHECK(x.type == w && (size_t)n == strlen(t[w - 1]) && !memcmp(x.text, t[w - 1], (size_t)n), "receive %d: type %ld, %zd bytes, want type %d '%s'",
          i + 1, x.type, n, w, t[w - 1]);
  }
  pass();
}
