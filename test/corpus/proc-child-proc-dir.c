/* /proc/<child> opened by the pid fork returned, for a child with two threads: cmdline is the
 * child's own argv (it rewrote argv[0] in place to a marker), /proc/<child>/task lists exactly the
 * two tids the child reports (its getpid and its thread's gettid), /proc/<child>/task/<tid>/stat
 * starts with that tid and names the thread, and /proc/<child>/comm is the child's name — before
 * and after the restart. */
#include "corpus.h"
#include <dirent.h>
#include <sys/prctl.h>

static int rep[2];
static void* kid_thread(void* u) {
  (void)u;
  prctl(PR_SET_NAME, "kid-worker");
  pid_t t = gettid();
  if (write(rep[1], &t, sizeof t) != sizeof t) _exit(5);
  for (;;) pause();
  return NULL;
}

static void check(pid_t kid, pid_t ktid, const char* phase) {
  char path[96], buf[256];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)kid);
  int f = open(path, O_RDONLY);
  CHECK(f >= 0, "%s: open %s: %s", phase, path, strerror(errno));
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  CHECK(n > 0, "%s: read %s: %zd", phase, path, n);
  buf[n] = 0;
  CHECK(strstr(buf, "KIDMARK") == buf, "%s: %s starts with '%s', the child wrote KIDMARK", phase, path, buf);
  snprintf(path, sizeof path, "/proc/%d/comm", (int)kid);
  f = open(path, O_RDONLY);
  n = f >= 0 ? read(f, buf, sizeof buf - 1) : -1;
  if (f >= 0) close(f);
  CHECK(n > 0, "%s: read %s", phase, path);
  buf[n] = 0;
  CHECK(!strcmp(buf, "kid-main\n"), "%s: %s is '%s'", phase, path, buf);
  snprintf(path, sizeof path, "/proc/%d/task", (int)kid);
  DIR* d = opendir(path);
  CHECK(d, "%s: opendir %s: %s", phase, path, strerror(errno));
  int seen_main = 0, seen_t = 0, count = 0;
  struct dirent* e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    count++;
    if (atoi(e->d_name) == kid) seen_main = 1;
    if (atoi(e->d_name) == ktid) seen_t = 1;
  }
  closedir(d);
  CHECK(count == 2 && seen_main && seen_t, "%s: %s lists %d entries (main %d seen %d, thread %d seen %d)", phase, path, count,
        (int)kid, seen_main, (int)ktid, seen_t);
  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)kid, (int)ktid);
  f = open(path, O_RDONLY);
  CHECK(f >= 0, "%s: open %s: %s", phase, path, strerror(errno));
  n = read(f, buf, sizeof buf - 1);
  close(f);
  CHECK(n > 0, "%s: read %s", phase, path);
  buf[n] = 0;
  char want[64];
  snprintf(want, sizeof want, "%d (kid-worker) ", (int)ktid);
  CHECK(!strncmp(buf, want, strlen(want)), "%s: %s starts '%.40s', want '%s'", phase, path, buf, want);
}

int main(int argc, char** argv) {
  (void)argc;
  SYS(pipe(rep));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    size_t len = strlen(argv[0]);
    if (len >= 7) memcpy(argv[0], "KIDMARK", 7);
    prctl(PR_SET_NAME, "kid-main");
    pthread_t t;
    if (pthread_create(&t, NULL, kid_thread, NULL)) _exit(4);
    for (;;) pause();
  }
  peer(kid);
  pid_t ktid = 0;
  CHECK(read(rep[0], &ktid, sizeof ktid) == sizeof ktid, "the child's thread did not report");
  CHECK(strlen(argv[0]) >= 7, "argv[0] too short for the marker");
  check(kid, ktid, "before");
  ready_wait();
  check(kid, ktid, "after");
  pass();
}
