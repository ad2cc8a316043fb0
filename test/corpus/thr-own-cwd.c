/* Threads with a working directory and umask of their own: thread A called unshare(CLONE_FS) (as
 * thread pools that chdir per task, and Go's runtime for some calls, do), moved to "sub" with
 * umask 077, then made thread B, which shares A's (pthread_create clones with CLONE_FS). The main
 * thread stays in "." with umask 022. After restart each still has its own: A's getcwd ends in
 * /sub and a file it creates gets 0600; when B then moves to sub/inner with umask 027, A follows
 * (they share one) and its next file gets 0640, while the main thread's getcwd is the old
 * directory and its file gets 0644 throughout. */
#include "corpus.h"
#include <sched.h>

static volatile int phase, b_ready, t_mode = -1, t_mode2 = -1;
static char t_cwd[4096], t_cwd2[4096];

static void wait_phase(int p) {
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) < p) usleep(1000);
}
static void set_phase(int p) { __atomic_store_n(&phase, p, __ATOMIC_SEQ_CST); }

static int mode_of_new(const char* name) {
  unlink(name);
  int f = open(name, O_CREAT | O_WRONLY, 0666);
  struct stat st;
  int m = f >= 0 && fstat(f, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
  if (f >= 0) close(f);
  return m;
}

static void* thread_b(void* u) {
  (void)u;
  __atomic_store_n(&b_ready, 1, __ATOMIC_SEQ_CST);
  wait_phase(5);
  if (chdir("inner")) set_phase(-1);
  umask(027);
  set_phase(6);
  return NULL;
}

static void* thread_a(void* u) {
  (void)u;
  if (unshare(CLONE_FS) || chdir("sub")) {
    set_phase(-1);
    return NULL;
  }
  umask(077);
  pthread_t b;
  if (pthread_create(&b, NULL, thread_b, NULL)) {
    set_phase(-1);
    return NULL;
  }
  set_phase(1);
  wait_phase(3);
  if (!getcwd(t_cwd, sizeof t_cwd)) t_cwd[0] = 0;
  t_mode = mode_of_new("t.txt");
  set_phase(4);
  wait_phase(6);
  if (!getcwd(t_cwd2, sizeof t_cwd2)) t_cwd2[0] = 0;
  t_mode2 = mode_of_new("t2.txt");
  pthread_join(b, NULL);
  set_phase(7);
  return NULL;
}

int main(void) {
  SYS(mkdir("sub", 0755));
  SYS(mkdir("sub/inner", 0755));
  umask(022);
  char here[4096];
  CHECK(getcwd(here, sizeof here) != NULL, "getcwd");
  pthread_t t;
  if (pthread_create(&t, NULL, thread_a, NULL)) fail("pthread_create");
  while (__atomic_load_n(&phase, __ATOMIC_SEQ_CST) == 0) usleep(1000);
  if (phase < 0) skip("unshare(CLONE_FS) in a thread: %s", strerror(errno));
  while (!__atomic_load_n(&b_ready, __ATOMIC_SEQ_CST)) usleep(1000);  /* B exists */

  ready_wait();

  char now[4096];
  CHECK(getcwd(now, sizeof now) && !strcmp(now, here), "the main thread's cwd is %s, want %s", now, here);
  set_phase(3);
  wait_phase(4);
  size_t l = strlen(t_cwd);
  CHECK(l >= 4 && !strcmp(t_cwd + l - 4, "/sub"), "thread A's cwd is '%s', want .../sub", t_cwd);
  CHECK(t_mode == 0600, "thread A's file got mode %o, want 600 (its umask 077)", t_mode);
  set_phase(5);
  wait_phase(7);
  l = strlen(t_cwd2);
  CHECK(l >= 10 && !strcmp(t_cwd2 + l - 10, "/sub/inner"),
        "thread A's cwd is '%s' after thread B (sharing it) moved to inner, want .../sub/inner", t_cwd2);
  CHECK(t_mode2 == 0640, "thread A's file got mode %o after thread B set umask 027, want 640", t_mode2);
  CHECK(getcwd(now, sizeof now) && !strcmp(now, here), "the main thread's cwd is %s after the threads moved, want %s", now,
        here);
  CHECK(mode_of_new("m.txt") == 0644, "the main thread's file did not get mode 644 (its umask 022)");
  pthread_join(t, NULL);
  pass();
}
