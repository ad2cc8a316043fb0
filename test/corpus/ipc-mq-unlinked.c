/* A POSIX message queue held by us and our child and unlinked (its name gone), with two messages
 * queued. After restart the name is still gone, both of us still hold the one queue: we receive
 * the two saved messages, then the one the child sends after the restart. */
#include "corpus.h"
#include <mqueue.h>

int main(void) {
  char name[64];
  snprintf(name, sizeof name, "/corpus-mqdel-%d", (int)getpid());
  struct mq_attr at = {.mq_maxmsg = 4, .mq_msgsize = 32};
  mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
  if (q == (mqd_t)-1) skip("mq_open: %s", strerror(errno));
  SYS(mq_send(q, "first", 5, 2));
  SYS(mq_send(q, "second", 6, 2));
  int g[2];
  SYS(pipe(g));
  pid_t k = SYS(fork());
  if (k == 0) {
    char c;
    if (read(g[0], &c, 1) != 1) _exit(10);
    _exit(mq_send(q, "child", 5, 9) ? 11 : 0);
  }
  peer(k);
  SYS(mq_unlink(name));

  ready_wait();

  CHECK(mq_open(name, O_RDONLY) == (mqd_t)-1 && errno == ENOENT, "the unlinked queue is back at its name");
  const char* want[2] = {"first", "second"};
  for (int i = 0; i < 2; i++) {
    char b[32];
    ssize_t n = mq_receive(q, b, sizeof b, NULL);
    CHECK(n == (ssize_t)strlen(want[i]) && !memcmp(b, want[i], (size_t)n), "receive %d: %zd bytes, want '%s'", i + 1, n, want[i]);
  }
  write_all(g[1], "g", 1);
  int st;
  CHECK(waitpid(k, &st, 0) == k && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child failed (status %#x)", st);
  char b[32];
  unsigned p = 0;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  ssize_t n = mq_timedreceive(q, b, sizeof b, &p, &dl);
  CHECK(n == 5 && !memcmp(b, "child", 5) && p == 9, "the child's message did not arrive (%zd: %s): not one queue any more", n,
        n < 0 ? strerror(errno) : "other bytes");
  pass();
}
