/* The main thread is the one with a working directory and umask of its own: it called
 * unshare(CLONE_FS) after making a worker, then moved to "sub" with umask 077; the worker (and
 * amber's own thread, made at the launch) keep "." and umask 022. After restart the main thread's
 * getcwd still ends in /sub and its file gets 0600, the worker's getcwd is the old directory and its
 * file gets 0644, and a thread the main thread makes now shares the main thread's (/sub, 0600). */
#include "corpus.h"
#include <sched.h>

static volatile int phase;
static char w_cwd[4096], n_cwd[4096];
static volatile int w_mode = -1, n_mode = -1;

static int mode_of_new(const char* name) {
  unlink(name);
  int f = open(name, O_CREAT | O_WRONLY, 0666);
  struct stat st;
  int m = f >= 0 && fstat(f, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
  if (f >= 0) close(f);
  return m;
}

static void* worker(void* u) {
  (void)u;
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  if (!getcwd(w_cwd, sizeof w_cwd)) w_cwd[0] = 0;
  w_mode = mode_of_new("w.txt");
  __atomic_store_n(&phase, 2, __ATOMIC_SEQ_CST);
  return NULL;
}

static void* later(void* u) {
  (void)u;
  if (!getcwd(n_cwd, sizeof n_cwd)) n_cwd[0] = 0;
  n_mode = mode_of_new("n.txt");
  return NULL;
}

int main(void) {
  SYS(mkdir("sub", 0755));
  umask(022);
  char here[4096];
  CHECK(getcwd(here, sizeof here) != NULL, "getcwd");
  pthread_t w;
  if (pthread_create(&w, NULL, worker, NULL)) fail("pthread_create");
  if (unshare(CLONE_FS)) skip("unshare(CLONE_FS): %s", strerror(errno));
  SYS(chdir("sub"));
  umask(077);

  ready_wait();

  char now[4096];
  size_t l = getcwd(now, sizeof now) ? strlen(now) : 0;
  CHECK(l >= 4 && !strcmp(now + l - 4, "/sub"), "the main thread's cwd is '%s', want .../sub", l ? now : "");
  CHECK(mode_of_new("m.txt") == 0600, "the main thread's file did not get mode 600 (its umask 077)");
  __atomic_store_n(&phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 2) usleep(1000);
  CHECK(!strcmp(w_cwd, here), "the worker's cwd is '%s', want %s", w_cwd, here);
  CHECK(w_mode == 0644, "the worker's file got mode %o, want 644 (its umask 022)", w_mode);
  pthread_t n;
  CHECK(pthread_create(&n, NULL, later, NULL) == 0, "pthread_create after restart");
  pthread_join(n, NULL);
  l = strlen(n_cwd);
  CHECK(l >= 4 && !strcmp(n_cwd + l - 4, "/sub"), "a thread made now has cwd '%s', want the main thread's .../sub", n_cwd);
  CHECK(n_mode == 0600, "a thread made now got mode %o, want 600 (the main thread's umask)", n_mode);
  pthread_join(w, NULL);
  pass();
}
