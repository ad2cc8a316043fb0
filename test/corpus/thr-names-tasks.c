/* Thread names, one per thread: the main thread "corpus-main" and three workers "w-alpha",
 * "w-beta", "w-gamma" (each set by the worker itself with PR_SET_NAME). After restart each
 * thread's PR_GET_NAME, /proc/self/task/<its tid>/comm and pthread_getname_np read its own name,
 * and the names under /proc/self/task are exactly these four (no thread lost, none extra). */
#include "corpus.h"
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static const char* names[3] = {"w-alpha", "w-beta", "w-gamma"};
static pthread_barrier_t bar;
static volatile pid_t tids[3];
static char got[3][16];

static void* worker(void* a) {
  int i = (int)(intptr_t)a;
  prctl(PR_SET_NAME, names[i]);
  tids[i] = (pid_t)syscall(SYS_gettid);
  pthread_barrier_wait(&bar); /* named */
  pthread_barrier_wait(&bar); /* after the restart */
  prctl(PR_GET_NAME, got[i]);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar); /* alive until the main thread looked at /proc */
  return NULL;
}

static int comm_of(pid_t tid, char* out) {
  char p[64];
  snprintf(p, sizeof p, "/proc/self/task/%d/comm", (int)tid);
  FILE* f = fopen(p, "r");
  if (!f) return -1;
  if (!fgets(out, 32, f)) out[0] = 0;
  fclose(f);
  out[strcspn(out, "\n")] = 0;
  return 0;
}

int main(void) {
  SYS(prctl(PR_SET_NAME, "corpus-main"));
  pthread_barrier_init(&bar, NULL, 4);
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void*)(intptr_t)i);
  pthread_barrier_wait(&bar);

  ready_wait();

  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  char n[32];
  SYS(prctl(PR_GET_NAME, n));
  CHECK(!strcmp(n, "corpus-main"), "the main thread's PR_GET_NAME is '%s'", n);
  CHECK(!comm_of(getpid(), n) && !strcmp(n, "corpus-main"), "/proc/self/task/<main>/comm is '%s'", n);
  for (int i = 0; i < 3; i++) {
    CHECK(!strcmp(got[i], names[i]), "worker %d's PR_GET_NAME is '%s', want '%s'", i, got[i], names[i]);
    CHECK(!comm_of(tids[i], n), "/proc/self/task/%d (worker %d) is gone", (int)tids[i], i);
    CHECK(!strcmp(n, names[i]), "/proc/self/task/%d/comm is '%s', want '%s'", (int)tids[i], n, names[i]);
    CHECK(!pthread_getname_np(t[i], n, sizeof n) && !strcmp(n, names[i]), "pthread_getname_np of worker %d: '%s'", i, n);
  }
  DIR* d = opendir("/proc/self/task");
  CHECK(d, "opendir /proc/self/task: %s", strerror(errno));
  int count = 0;
  struct dirent* e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    count++;
    CHECK(!comm_of(atoi(e->d_name), n), "task %s vanished", e->d_name);
    int known = !strcmp(n, "corpus-main");
    for (int i = 0; i < 3; i++) known |= !strcmp(n, names[i]);
    CHECK(known, "task %s is named '%s': a thread the program does not have", e->d_name, n);
  }
  closedir(d);
  CHECK(count == 4, "/proc/self/task lists %d threads, want 4", count);
  pthread_barrier_wait(&bar);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  pass();
}
