/* The ids a process reads about itself in /proc/self/stat and /proc/self/status (psutil, ps, and
 * programs that find their parent or session there), and in its child's /proc/<pid>/stat: after
 * restart they are the ids getpid, getppid, getpgrp, getsid and fork gave, not the kernel's. */
#include "corpus.h"

static int stat_fields(const char* path, long* pid, long* ppid, long* pgrp, long* sid) {
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  char b[1024];
  size_t n = fread(b, 1, sizeof b - 1, f);
  fclose(f);
  b[n] = 0;
  char* rp = strrchr(b, ')');
  if (!rp) return 0;
  *pid = atol(b);
  char st;
  return sscanf(rp + 2, "%c %ld %ld %ld", &st, ppid, pgrp, sid) == 4;
}

static long status_field(const char* path, const char* key) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  char b[4096];
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return -1;
  b[n] = 0;
  size_t kl = strlen(key);
  for (char* l = b; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (!strncmp(l, key, kl) && l[kl] == ':') return atol(l + kl + 1);
  return -1;
}

int main(void) {
  int g[2];
  SYS(pipe(g));
  pid_t kid = SYS(fork());
  if (kid == 0) {
    char c;
    (void)!read(g[0], &c, 1);
    _exit(0);
  }
  peer(kid);

  ready_wait();

  long pid, ppid, pgrp, sid;
  CHECK(stat_fields("/proc/self/stat", &pid, &ppid, &pgrp, &sid), "cannot parse /proc/self/stat");
  CHECK(pid == getpid(), "/proc/self/stat says pid %ld, getpid() %d", pid, (int)getpid());
  CHECK(ppid == getppid(), "/proc/self/stat says ppid %ld, getppid() %d", ppid, (int)getppid());
  CHECK(pgrp == getpgrp(), "/proc/self/stat says pgrp %ld, getpgrp() %d", pgrp, (int)getpgrp());
  CHECK(sid == getsid(0), "/proc/self/stat says session %ld, getsid() %d", sid, (int)getsid(0));
  CHECK(status_field("/proc/self/status", "Pid") == getpid(), "/proc/self/status Pid %ld, getpid() %d",
        status_field("/proc/self/status", "Pid"), (int)getpid());
  CHECK(status_field("/proc/self/status", "Tgid") == getpid(), "/proc/self/status Tgid differs from getpid()");
  CHECK(status_field("/proc/self/status", "PPid") == getppid(), "/proc/self/status PPid %ld, getppid() %d",
        status_field("/proc/self/status", "PPid"), (int)getppid());
  char kp[64];
  snprintf(kp, sizeof kp, "/proc/%d/stat", (int)kid);
  long kpid, kppid, kpg, ksid;
  CHECK(stat_fields(kp, &kpid, &kppid, &kpg, &ksid), "cannot read %s", kp);
  CHECK(kpid == kid && kppid == getpid(), "%s says pid %ld ppid %ld, want %d and %d", kp, kpid, kppid, (int)kid, (int)getpid());
  write_all(g[1], "x", 1);
  pass();
}
