/* Shared by every corpus program (header-only: each program is one translation unit).
 *
 * The protocol (test/helpers/corpus.ts drives it):
 *   1. the program sets up its one piece of state (forking its own peer if the state needs one);
 *   2. it prints "READY" (one line, flushed) and waits for one line on stdin (the checkpoint,
 *      kill and restart happen while it waits);
 *   3. it verifies the state is exactly what it set up and prints "PASS" (exit 0),
 *      "FAIL: <what differs>" (exit 1) or, when the state cannot be set up here (needs root, the
 *      kernel lacks it), "SKIP: <why>" (exit 0) BEFORE printing READY.
 *
 * Helpers: ready_wait() does 1+2 with a plain read(0); ready() only prints READY for programs whose
 * wait point is another blocking call on stdin (poll, select, epoll_wait ...) and read_line()
 * consumes the line afterwards. CHECK(cond, fmt, ...) fails with a message naming what differs.
 * Peers a program forks are SIGKILLed by the harness at the end (every process carries a tag in its
 * environment); corpus_exit() also kills the ones registered with peer().
 */
#ifndef CORPUS_H
#define CORPUS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CORPUS_MAX_PEERS 64
static pid_t corpus_peers[CORPUS_MAX_PEERS];
static int corpus_npeers;

/* Remember a forked peer so corpus_exit() kills and reaps it. */
static inline void peer(pid_t p) {
  if (corpus_npeers < CORPUS_MAX_PEERS) corpus_peers[corpus_npeers++] = p;
}

/* Cleanups (IPC objects, names) run by corpus_exit in the main process, last registered first. */
#define CORPUS_MAX_CLEANUPS 8
static void (*corpus_cleanups[CORPUS_MAX_CLEANUPS])(void);
static int corpus_ncleanups;
static pid_t corpus_main_pid;

static inline void on_exit_cleanup(void (*fn)(void)) {
  if (!corpus_main_pid) corpus_main_pid = getpid();
  if (corpus_ncleanups < CORPUS_MAX_CLEANUPS) corpus_cleanups[corpus_ncleanups++] = fn;
}

static inline __attribute__((noreturn)) void corpus_exit(int code) {
  if (getpid() == corpus_main_pid)
    while (corpus_ncleanups > 0) corpus_cleanups[--corpus_ncleanups]();
  for (int i = 0; i < corpus_npeers; i++) {
    if (corpus_peers[i] > 0) {
      kill(corpus_peers[i], SIGKILL);
      waitpid(corpus_peers[i], NULL, 0);
    }
  }
  fflush(stdout);
  _exit(code);
}

/* One line written with a single write(2), so lines from several processes never interleave. */
static inline void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  fflush(stdout);
  ssize_t w = write(1, buf, (size_t)n);
  (void)w;
}

static inline void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fail(const char* fmt, ...) {
  char buf[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  say("FAIL: %s", buf);
  corpus_exit(1);
}

static inline void skip(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void skip(const char* fmt, ...) {
  char buf[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  say("SKIP: %s", buf);
  corpus_exit(0);
}

static inline __attribute__((noreturn)) void pass(void) {
  say("PASS");
  corpus_exit(0);
}

#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) fail(__VA_ARGS__); \
  } while (0)

/* A setup step that must work (a failure here is a broken program or machine, not amber's). */
#define SYS(expr)                                                                        \
  ({                                                                                     \
    __typeof__(expr) _r = (expr);                                                        \
    if (_r == (__typeof__(expr))-1) fail("%s:%d: %s: %s", __FILE__, __LINE__, #expr, strerror(errno)); \
    _r;                                                                                  \
  })

static inline void ready(void) { say("READY"); }

/* Read the harness's line from fd 0 (a plain read; EINTR is reported, never retried). */
static inline void read_line(void) {
  char c;
  for (;;) {
    ssize_t n = read(0, &c, 1);
    if (n < 0) fail("read(0) for the go line: %s", strerror(errno));
    if (n == 0) fail("stdin closed before the go line");
    if (c == '\n') return;
  }
}

static inline void ready_wait(void) {
  ready();
  read_line();
}

/* For programs whose wait point is a blocking call other than read(0): a thread reads the go
 * line, sets line_seen and calls on_line (which wakes the blocked call: a semop, a signal ...). */
static volatile int line_seen;
static void (*corpus_on_line)(void);
static void* corpus_line_thread(void* u) {
  (void)u;
  read_line();
  __atomic_store_n(&line_seen, 1, __ATOMIC_SEQ_CST);
  if (corpus_on_line) corpus_on_line();
  return NULL;
}

static inline pthread_t line_thread(void (*on_line)(void)) {
  corpus_on_line = on_line;
  pthread_t t;
  int e = pthread_create(&t, NULL, corpus_line_thread, NULL);
  if (e) fail("pthread_create: %s", strerror(e));
  return t;
}

static inline double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* write/read exactly n bytes (setup helpers; a short transfer is a failure). */
static inline void write_all(int fd, const void* p, size_t n) {
  const char* c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0) fail("write(%d): %s", fd, strerror(errno));
    c += w;
    n -= (size_t)w;
  }
}

static inline void read_exact(int fd, void* p, size_t n, const char* what) {
  char* c = p;
  while (n) {
    ssize_t r = read(fd, c, n);
    if (r < 0) fail("%s: read(%d): %s", what, fd, strerror(errno));
    if (r == 0) fail("%s: read(%d): EOF with %zu bytes missing", what, fd, n);
    c += r;
    n -= (size_t)r;
  }
}

/* Nothing more is waiting on fd (it must be non-blocking or we poll it first). */
static inline void expect_empty(int fd, const char* what) {
  char c;
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  ssize_t r = read(fd, &c, 1);
  int e = errno;
  fcntl(fd, F_SETFL, fl);
  if (r >= 0) fail("%s: extra data after the expected bytes (read returned %zd)", what, r);
  if (e != EAGAIN) fail("%s: expected EAGAIN when empty, got %s", what, strerror(e));
}

/* Deterministic pseudo-random bytes (so a check can recompute what was written). */
static inline void fill_pattern(void* p, size_t n, uint32_t seed) {
  unsigned char* c = p;
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c[i] = (unsigned char)x;
  }
}

static inline int check_pattern(const void* p, size_t n, uint32_t seed) {
  const unsigned char* c = p;
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    if (c[i] != (unsigned char)x) return (int)i;
  }
  return -1;
}

/* A field of /proc/self/status ("Name", "SigQ", ...) into buf; 0 when found. */
static inline int proc_status_field(const char* path, const char* field, char* buf, size_t cap) {
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  char line[512];
  size_t fl = strlen(field);
  int rc = -1;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, field, fl) && line[fl] == ':') {
      char* v = line + fl + 1;
      while (*v == ' ' || *v == '\t') v++;
      size_t n = strcspn(v, "\n");
      if (n >= cap) n = cap - 1;
      memcpy(buf, v, n);
      buf[n] = 0;
      rc = 0;
      break;
    }
  }
  fclose(f);
  return rc;
}

/* A child that tries to take a lock must get EAGAIN/EWOULDBLOCK: run fn in a child, return its
 * exit code (fn returns the code: 0 = blocked as expected). */
static inline int in_child(int (*fn)(void*), void* arg) {
  pid_t p = fork();
  if (p < 0) fail("fork: %s", strerror(errno));
  if (p == 0) _exit(fn(arg));
  int st;
  if (waitpid(p, &st, 0) != p) fail("waitpid(checker %d): %s", (int)p, strerror(errno));
  if (!WIFEXITED(st)) return 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return WEXITSTATUS(st);
}

/* A pseudo-terminal pair: returns the master (posix_openpt, O_RDWR|O_NOCTTY|mflags) and opens its
 * slave into *slave (O_RDWR|O_NOCTTY|sflags); SKIP where the machine has no ptys. */
static inline int pty_pair(int mflags, int sflags, int* slave) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | mflags);
  if (m < 0) skip("posix_openpt: %s", strerror(errno));
  SYS(grantpt(m));
  SYS(unlockpt(m));
  *slave = SYS(open(ptsname(m), O_RDWR | O_NOCTTY | sflags));
  return m;
}

/* A terminal in raw mode (cfmakeraw): no line editing, echo or output processing. */
static inline void pty_raw(int fd) {
  struct termios t;
  SYS(tcgetattr(fd, &t));
  cfmakeraw(&t);
  SYS(tcsetattr(fd, TCSANOW, &t));
}

#endif
