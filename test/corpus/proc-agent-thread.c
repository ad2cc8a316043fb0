/* The agent's checkpoint thread is not the program's: a program counts its own threads and its
 * child's in /proc (status Threads:, the task directory) and asks the scheduler about a process
 * group (getpriority PRIO_PGRP, the best nice over every thread). None of these may show a thread
 * the program did not make, before the checkpoint or after the restart. */
#include "corpus.h"
#include <dirent.h>
#include <sys/resource.h>

static long status_num(const char* path, const char* key) {
  char v[64];
  if (proc_status_field(path, key, v, sizeof v)) return -1000;
  return atol(v);
}

static int task_count(const char* dir) {
  DIR* d = opendir(dir);
  if (!d) fail("opendir %s: %s", dir, strerror(errno));
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void* idle(void* u) {
  (void)u;
  for (;;) pause();
  return NULL;
}

static void checks(pid_t kid, const char* phase) {
  CHECK(task_count("/proc/self/task") == 2, "%s: /proc/self/task lists %d threads, the program has 2", phase,
        task_count("/proc/self/task"));
  CHECK(status_num("/proc/self/status", "Threads") == 2, "%s: /proc/self/status Threads: %ld, the program has 2", phase,
        status_num("/proc/self/status", "Threads"));
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/task", (int)kid);
  CHECK(task_count(p) == 1, "%s: %s lists %d threads, the child has 1", phase, p, task_count(p));
  snprintf(p, sizeof p, "/proc/%d/status", (int)kid);
  CHECK(status_num(p, "Threads") == 1, "%s: %s Threads: %ld, the child has 1", phase, p, status_num(p, "Threads"));
  errno = 0;
  int pr = getpriority(PRIO_PGRP, (id_t)kid);
  CHECK(pr == 9 && errno == 0, "%s: getpriority(PRIO_PGRP, the child's group) %d, the child set nice 9", phase, pr);
}

int main(void) {
  int go[2];
  SYS(pipe(go));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    setpgid(0, 0);
    setpriority(PRIO_PROCESS, 0, 9);
    char x;
    if (read(go[0], &x, 1) != 1) _exit(2);
    _exit(0);
  }
  peer(kid);
  setpgid(kid, kid);
  pthread_t t;
  if (pthread_create(&t, NULL, idle, NULL)) fail("pthread_create");
  for (int i = 0; i < 2000 && getpriority(PRIO_PROCESS, (id_t)kid) != 9; i++) usleep(1000);
  checks(kid, "before the checkpoint");
  ready_wait();
  checks(kid, "after the restart");
  write_all(go[1], "x", 1);
  pass();
}
