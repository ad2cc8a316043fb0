/* Calls blocked across the checkpoint that name a process group or a child by the ids the program
 * knows: waitpid(-pgid), waitid(P_PGID), waitid(P_PID) with WNOWAIT, wait4(child) with a rusage.
 * Re-issued after the restart they must name this run's kernel ids, and what they return (the pid,
 * si_pid) must be the ids fork gave: never EINTR, ECHILD or a kernel pid. */
#include "corpus.h"
#include <sys/resource.h>

#define N 4
static pid_t kids[N];
static volatile long got[N];
static volatile int errs[N], status[N];
static volatile pid_t sipid[N];

static void* waiter(void* u) {
  long i = (long)u;
  int s = 0;
  long r;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  struct rusage ru;
  switch (i) {
    case 0: r = waitpid(-kids[0], &s, 0); break;
    case 1:
      r = waitid(P_PGID, (id_t)kids[1], &si, WEXITED);
      if (r == 0) { r = si.si_pid; s = si.si_status; }
      break;
    case 2:
      r = waitid(P_PID, (id_t)kids[2], &si, WEXITED | WNOWAIT);
      if (r == 0) { r = si.si_pid; s = si.si_status; sipid[2] = si.si_pid; waitpid(kids[2], NULL, 0); }
      break;
    default: r = wait4(kids[3], &s, 0, &ru); if (r > 0) s = WEXITSTATUS(s); break;
  }
  errs[i] = errno;
  if (i == 0 && r > 0) s = WEXITSTATUS(s);
  status[i] = s;
  got[i] = r;
  return NULL;
}

int main(void) {
  int go[2];
  SYS(pipe(go));
  for (int i = 0; i < N; i++) {
    kids[i] = SYS(fork());
    if (kids[i] == 0) {
      setpgid(0, 0);
      char x;
      if (read(go[0], &x, 1) != 1) _exit(2);
      _exit(20 + i);
    }
    setpgid(kids[i], kids[i]);
    got[i] = -2;
  }
  pthread_t t[N];
  for (long i = 0; i < N; i++)
    if (pthread_create(&t[i], NULL, waiter, (void*)i)) fail("pthread_create");
  usleep(50000);

  ready_wait();

  for (int i = 0; i < N; i++)
    CHECK(got[i] == -2, "waiter %d returned %ld (%s) before the children exited", i, got[i], strerror(errs[i]));
  for (int i = 0; i < N; i++) write_all(go[1], "x", 1);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  static const char* what[N] = {"waitpid(-pgid)", "waitid(P_PGID)", "waitid(P_PID, WNOWAIT)", "wait4(pid, rusage)"};
  for (int i = 0; i < N; i++)
    CHECK(got[i] == kids[i] && status[i] == 20 + i, "%s returned %ld (%s) status %d, want the child %d and %d", what[i],
          got[i], got[i] < 0 ? strerror(errs[i]) : "", status[i], (int)kids[i], 20 + i);
  pass();
}
