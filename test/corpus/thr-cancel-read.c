/* A thread blocked in read on a pipe nobody writes, with deferred cancellation (the default) and
 * a cleanup handler pushed. After restart pthread_cancel ends it at that read (a cancellation
 * point): the cleanup handler runs with its argument, pthread_join returns PTHREAD_CANCELED, and
 * the read never returned (nothing came, no EINTR). */
#include "corpus.h"

static int p[2];
static volatile int cleaned, returned, entered;
static volatile pid_t tid;

/* The thread's state letter in /proc/self/task/<tid>/stat ('S': asleep in a call). */
static char state_of(pid_t t) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)t);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return '?';
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return '?';
  buf[n] = 0;
  char* e = strrchr(buf, ')');
  return e && e[1] == ' ' ? e[2] : '?';
}

static void cleanup(void* a) { cleaned = (int)(intptr_t)a; }

static void* reader(void* u) {
  (void)u;
  pthread_cleanup_push(cleanup, (void*)(intptr_t)4242);
  char c;
  tid = gettid();
  __atomic_store_n(&entered, 1, __ATOMIC_SEQ_CST);
  ssize_t r = read(p[0], &c, 1);
  returned = r < 0 ? -errno : (int)r + 1;
  pthread_cleanup_pop(0);
  return NULL;
}

int main(void) {
  SYS(pipe(p));
  pthread_t t;
  if (pthread_create(&t, NULL, reader, NULL)) fail("pthread_create");
  /* wait until the thread sleeps in read() (bounded: 10 s) */
  while (!__atomic_load_n(&entered, __ATOMIC_SEQ_CST)) usleep(1000);
  for (int i = 0; i < 10000 && state_of(tid) != 'S'; i++) usleep(1000);
  if (state_of(tid) != 'S') fail("setup: the reader thread is in state %c, not asleep in read", state_of(tid));

  ready_wait();

  CHECK(!returned, "the read returned (%d) before the cancel", returned);
  int e = pthread_cancel(t);
  CHECK(!e, "pthread_cancel: %s", strerror(e));
  void* res = NULL;
  e = pthread_join(t, &res);
  CHECK(!e, "pthread_join: %s", strerror(e));
  CHECK(res == PTHREAD_CANCELED, "the thread ended with %p, want PTHREAD_CANCELED (read returned %d)", res, returned);
  CHECK(cleaned == 4242, "the cleanup handler ran with %d, want 4242", cleaned);
  CHECK(!returned, "the read returned %d", returned);
  pass();
}
