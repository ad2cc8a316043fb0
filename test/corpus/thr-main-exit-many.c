/* The main thread ends with pthread_exit while three workers go on, one of them with a working
 * directory of its own (unshare(CLONE_FS), in "sub"). After restart every worker is alive with the
 * cwd it had, a signal sent to the process (kill(getpid())) reaches a live thread's handler, and
 * the leader is still a zombie. */
#include "corpus.h"
#include <sched.h>
#include <sys/syscall.h>

static pid_t pid0;
static volatile int alive[3], own_ok = -1, stop, got_usr1;
static char here[4096];

static void on_usr1(int s) { (void)s; got_usr1 = 1; }

static void* worker(void* u) {
  int i = (int)(long)u;
  if (i == 2 && (unshare(CLONE_FS) || chdir("sub"))) return NULL;
  __atomic_store_n(&alive[i], 1, __ATOMIC_SEQ_CST);
  while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
    __atomic_add_fetch(&alive[i], 1, __ATOMIC_SEQ_CST);
    usleep(2000);
  }
  if (i == 2) {
    char b[4096];
    size_t l = getcwd(b, sizeof b) ? strlen(b) : 0;
    own_ok = l >= 4 && !strcmp(b + l - 4, "/sub");
  }
  return NULL;
}

static void* driver(void* u) {
  (void)u;
  char path[64], st[64] = "";
  snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)pid0);
  for (int i = 0; i < 2000; i++) {
    if (proc_status_field(path, "State", st, sizeof st) == 0 && st[0] == 'Z') break;
    usleep(1000);
  }
  for (int i = 0; i < 3; i++)
    while (!__atomic_load_n(&alive[i], __ATOMIC_SEQ_CST)) usleep(1000);
  ready_wait();
  CHECK(getpid() == pid0, "getpid() is %d, was %d", (int)getpid(), (int)pid0);
  CHECK(proc_status_field(path, "State", st, sizeof st) == 0 && st[0] == 'Z', "the ended main thread is '%s', want Z", st);
  int before[3];
  for (int i = 0; i < 3; i++) before[i] = __atomic_load_n(&alive[i], __ATOMIC_SEQ_CST);
  for (int k = 0; k < 5000; k++) {
    int moved = 0;
    for (int i = 0; i < 3; i++) moved += __atomic_load_n(&alive[i], __ATOMIC_SEQ_CST) != before[i];
    if (moved == 3) break;
    usleep(1000);
  }
  for (int i = 0; i < 3; i++) CHECK(__atomic_load_n(&alive[i], __ATOMIC_SEQ_CST) != before[i], "worker %d does not run", i);
  CHECK(kill(getpid(), SIGUSR1) == 0, "kill(getpid(), SIGUSR1): %s", strerror(errno));
  for (int k = 0; k < 5000 && !got_usr1; k++) usleep(1000);
  CHECK(got_usr1, "SIGUSR1 sent to the process never reached a handler");
  char b[4096];
  CHECK(getcwd(b, sizeof b) && !strcmp(b, here), "the driver's cwd is %s, want %s", b, here);
  __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
  for (int k = 0; k < 5000 && own_ok < 0; k++) usleep(1000);
  CHECK(own_ok == 1, "the worker with a cwd of its own is not in .../sub any more");
  pass();
}

int main(void) {
  pid0 = getpid();
  SYS(mkdir("sub", 0755));
  CHECK(getcwd(here, sizeof here) != NULL, "getcwd");
  signal(SIGUSR1, on_usr1);
  pthread_t t;
  for (long i = 0; i < 3; i++)
    if (pthread_create(&t, NULL, worker, (void*)i)) fail("pthread_create");
  if (pthread_create(&t, NULL, driver, NULL)) fail("pthread_create");
  pthread_exit(NULL);
}
