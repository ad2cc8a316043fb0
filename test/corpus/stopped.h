/* Helpers of the proc-stopped-* programs: a stopped child through checkpoints. */
#ifndef STOPPED_H
#define STOPPED_H
#include "corpus.h"
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

/* The state letter of /proc/PID/stat ('?' when unreadable). */
static inline char state_of(pid_t pid) {
  char path[64], st[512] = "";
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int f = open(path, O_RDONLY);
  if (f < 0) return '?';
  ssize_t n = read(f, st, sizeof st - 1);
  close(f);
  if (n <= 0) return '?';
  st[n] = 0;
  char* rp = strrchr(st, ')');
  return rp && rp[1] == ' ' ? rp[2] : '?';
}

/* The child is stopped and the program has no report it did not have before (no stop, no
 * continue: the checkpoint's continue and stop again must not show). */
static inline void check_still_stopped(pid_t kid, const char* when) {
  CHECK(state_of(kid) == 'T', "%s: child state '%c', want T (stopped)", when, state_of(kid));
  int st = 0;
  pid_t r = waitpid(kid, &st, WUNTRACED | WCONTINUED | WNOHANG);
  CHECK(r == 0, "%s: waitpid(WUNTRACED|WCONTINUED|WNOHANG) returned %d status %#x: a report the program never caused", when, (int)r, st);
}

/* Asks the coordinator of this computation for a checkpoint (the control protocol,
 * docs/PROTOCOL.md), as `amber checkpoint` does; 1 when one was taken, 0 without amber. */
static inline int self_checkpoint(void) {
  const char* coord = getenv("AMBER_COORD");
  if (!coord || !*coord || !strncmp(coord, "tcp:", 4)) return 0;
  int s = SYS(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", coord);
  SYS(connect(s, (struct sockaddr*)&a, sizeof a));
  static const char req[] = "{\"t\":\"ctl\",\"op\":\"checkpoint\"}\n";
  write_all(s, req, sizeof req - 1);
  char line[4096];
  size_t n = 0;
  while (n < sizeof line - 1) {
    ssize_t r = read(s, line + n, 1);
    if (r < 0 && errno == EINTR) fail("self checkpoint: read: EINTR");
    if (r <= 0 || line[n] == '\n') break;
    n++;
  }
  line[n] = 0;
  close(s);
  CHECK(strstr(line, "\"ok\":true") != NULL, "self checkpoint failed: %s", line);
  return 1;
}

/* A page both the program and its child see (MAP_SHARED): the child's counters. */
static inline volatile unsigned long* shared_page(void) {
  void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("mmap: %s", strerror(errno));
  return (volatile unsigned long*)p;
}

/* Waits (bounded, 10 s) until *c differs from v. */
static inline int changes(volatile unsigned long* c, unsigned long v) {
  for (int i = 0; i < 10000 && *c == v; i++) usleep(1000);
  return *c != v;
}
#endif
