/* A thread with its own working directory and umask: it called unshare(CLONE_FS) (as thread pools
 * that chdir per task, and Go's runtime for some calls, do) and moved to "sub" with umask 077, while
 * the main thread stays in "." with umask 022. After restart each thread still has its own: the
 * thread's getcwd ends in /sub and a file it creates gets 0600, the main thread's getcwd is the old
 * directory and its file gets 0644. */
#include "corpus.h"
#include <sched.h>

static volatile int phase, t_mode = -1;
static char t_cwd[4096];
static void* th(void* u) {
  (void)u;
  if (unshare(CLONE_FS) || chdir("sub")) {
    __atomic_store_n(&phase, -1, __ATOMIC_SEQ_CST);
    return NULL;
  }
  umask(077);
  __atomic_store_n(&phase, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 2) usleep(1000);
  if (!getcwd(t_cwd, sizeof t_cwd)) t_cwd[0] = 0;
  int f = open("t.txt", O_CREAT | O_WRONLY, 0666);
  struct stat st;
  if (f >= 0 && fstat(f, &st) == 0) t_mode = (int)(st.st_mode & 0777);
  __atomic_store_n(&phase, 3, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(void) {
  SYS(mkdir("sub", 0755));
  umask(022);
  char here[4096];
  CHECK(getcwd(here, sizeof here) != NULL, "getcwd");
  pthread_t t;
  if (pthread_create(&t, NULL, th, NULL)) fail("pthread_create");
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) == 0) usleep(1000);
  if (phase < 0) skip("unshare(CLONE_FS) in a thread: %s", strerror(errno));

  ready_wait();

  char now[4096];
  CHECK(getcwd(now, sizeof now) && !strcmp(now, here), "the main thread's cwd is %s, want %s", now, here);
  __atomic_store_n(&phase, 2, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < 3) usleep(1000);
  size_t l = strlen(t_cwd);
  CHECK(l >= 4 && !strcmp(t_cwd + l - 4, "/sub"), "the thread's cwd is '%s', want .../sub", t_cwd);
  CHECK(t_mode == 0600, "the thread's file got mode %o, want 600 (its umask 077)", t_mode);
  int f = SYS(open("m.txt", O_CREAT | O_WRONLY, 0666));
  struct stat st;
  SYS(fstat(f, &st));
  CHECK((st.st_mode & 0777) == 0644, "the main thread's file got mode %o, want 644", st.st_mode & 0777);
  pthread_join(t, NULL);
  pass();
}
