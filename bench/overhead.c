/* The cost amber's wrappers add, measured by running this same program with and without the agent
 * (bench/overhead.js). Each case prints "<name> <seconds>":
 *   getpid    N getpid() calls            kill      N kill(self, 0) calls
 *   forkexec  N fork + exec(/bin/true) + waitpid
 *   pipe      B MiB through a pipe between two processes (writer child, reader parent)
 *   syscall   N syscall(SYS_getpid) calls  (the variadic syscall() wrapper)
 *   stat      N stat("/proc/self/stat") + N stat("/tmp")  (the /proc path wrappers' fast path) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const char* which = argc > 1 ? argv[1] : "all";
  int all = !strcmp(which, "all");
  volatile long sink = 0;
  if (all || !strcmp(which, "getpid")) {
    double t = now();
    for (int i = 0; i < 2000000; i++) sink += getpid();
    printf("getpid %.6f\n", now() - t);
  }
  if (all || !strcmp(which, "kill")) {
    pid_t me = getpid();
    double t = now();
    for (int i = 0; i < 1000000; i++) sink += kill(me, 0);
    printf("kill %.6f\n", now() - t);
  }
  if (all || !strcmp(which, "forkexec")) {
    double t = now();
    for (int i = 0; i < 200; i++) {
      pid_t p = fork();
      if (p == 0) { execl("/bin/true", "true", (char*)0); _exit(127); }
      int st;
      waitpid(p, &st, 0);
    }
    printf("forkexec %.6f\n", now() - t);
  }
  if (all || !strcmp(which, "pipe")) {
    int p[2];
    if (pipe(p)) return 1;
    static char buf[65536];
    long total = 512L << 20;
    double t = now();
    pid_t w = fork();
    if (w == 0) {
      close(p[0]);
      for (long sent = 0; sent < total; sent += sizeof buf)
        if (write(p[1], buf, sizeof buf) != (ssize_t)sizeof buf) _exit(1);
      _exit(0);
    }
    close(p[1]);
    long got = 0;
    ssize_t r;
    while ((r = read(p[0], buf, sizeof buf)) > 0) got += r;
    waitpid(w, 0, 0);
    printf("pipe %.6f\n", now() - t);
    if (got != total) return 2;
  }
  if (all || !strcmp(which, "syscall")) {
    double t = now();
    for (int i = 0; i < 2000000; i++) sink += syscall(SYS_getpid);
    printf("syscall %.6f\n", now() - t);
  }
  if (all || !strcmp(which, "stat")) {
    struct stat st;
    double t = now();
    for (int i = 0; i < 500000; i++) sink += stat("/proc/self/stat", &st) + stat("/tmp", &st);
    printf("stat %.6f\n", now() - t);
  }
  return (int)(sink & 0);
}
