/* Signals masked by raw system calls through syscall(2), as runtimes with their own signal code
 * do: a thread blocks every signal with syscall(SYS_rt_sigprocmask) and reads a pipe; the main
 * thread waits in syscall(SYS_ppoll) with every signal masked. Both are checkpointed where they
 * wait and go on after the go line (the live checkpoint must not fail, nor the calls end early). */
#include "corpus.h"
#include <poll.h>
#include <sys/syscall.h>

static int p[2], q[2];
static volatile int got = -2;

static void feed(void) {
  if (write(p[1], "g", 1) != 1 || write(q[1], "h", 1) != 1) fail("write: %s", strerror(errno));
}

static void* reader(void* u) {
  (void)u;
  uint64_t all = ~0ull;
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, 8) != 0) fail("rt_sigprocmask: %s", strerror(errno));
  char c;
  ssize_t n = read(q[0], &c, 1);
  got = n == 1 && c == 'h' ? 1 : n < 0 ? -errno : 0;
  return NULL;
}

int main(void) {
  SYS(pipe(p));
  SYS(pipe(q));
  pthread_t t;
  CHECK(pthread_create(&t, NULL, reader, NULL) == 0, "pthread_create");
  ready();
  line_thread(feed);
  uint64_t all = ~0ull;
  struct pollfd pfd = {p[0], POLLIN, 0};
  long n = syscall(SYS_ppoll, &pfd, 1, NULL, &all, 8);
  CHECK(n == 1 && (pfd.revents & POLLIN), "ppoll: %ld (%s)", n, n < 0 ? strerror(errno) : "");
  CHECK(line_seen, "ppoll returned before the go line");
  pthread_join(t, NULL);
  CHECK(got == 1, "the masked thread's read: %d", got);
  pass();
}
