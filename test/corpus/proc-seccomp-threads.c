/* Seccomp filters on threads, each thread its own chain: the main thread installs A (sysinfo ->
 * EDOM) before starting two threads, then B with SECCOMP_FILTER_FLAG_TSYNC (getcpu -> ENOTTY)
 * for every thread, then thread 1 alone installs C (sysfs -> E2BIG). After restart each thread
 * runs under exactly its chain: main and thread 2 under A and B, thread 1 under A, B and C. */
#include "corpus.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>

static struct sock_fprog deny(int nr, int err, struct sock_filter* f) {
  struct sock_filter p[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  memcpy(f, p, sizeof p);
  return (struct sock_fprog){.len = 4, .filter = f};
}

/* "" when the calling thread's filters are exactly A, B and (want_c) C. */
static const char* wrong(int want_c, char* why, size_t cap) {
  struct sysinfo si;
  unsigned cpu;
  errno = 0;
  if (!(sysinfo(&si) < 0 && errno == EDOM)) return snprintf(why, cap, "filter A missing (sysinfo: %s)", strerror(errno)), why;
  errno = 0;
  if (!(syscall(SYS_getcpu, &cpu, NULL, NULL) < 0 && errno == ENOTTY)) return snprintf(why, cap, "filter B missing (getcpu: %s)", strerror(errno)), why;
  errno = 0;
  long r = syscall(SYS_sysfs, 3);
  int has_c = r < 0 && errno == E2BIG;
  if (has_c != want_c) return snprintf(why, cap, "filter C %s (sysfs: %ld %s)", want_c ? "missing" : "present", r, strerror(errno)), why;
  char v[16];
  if (proc_status_field("/proc/thread-self/status", "Seccomp_filters", v, sizeof v) || atoi(v) != 2 + want_c)
    return snprintf(why, cap, "Seccomp_filters is %s, want %d", v, 2 + want_c), why;
  return "";
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;  /* 1: B installed; 2: thread 1 has C; 3: check after C/R */
static int done;
static char result[2][200];

static void wait_stage(int s) {
  pthread_mutex_lock(&mu);
  while (stage < s) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}
static void set_stage(int s) {
  pthread_mutex_lock(&mu);
  stage = s;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void* worker(void* arg) {
  int i = (int)(long)arg;
  wait_stage(1);
  if (i == 0) {
    struct sock_filter f[4];
    struct sock_fprog c = deny(SYS_sysfs, E2BIG, f);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &c)) {
      snprintf(result[i], sizeof result[i], "setup: filter C: %s", strerror(errno));
    }
    set_stage(2);
  }
  wait_stage(3);
  char why[160];
  if (!result[i][0]) snprintf(result[i], sizeof result[i], "%s", wrong(i == 0, why, sizeof why));
  pthread_mutex_lock(&mu);
  done++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(void) {
  SYS(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
  struct sock_filter fa[4], fb[4];
  struct sock_fprog a = deny(SYS_sysinfo, EDOM, fa), b = deny(SYS_getcpu, ENOTTY, fb);
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &a)) skip("seccomp filters unavailable: %s", strerror(errno));
  pthread_t t[2];
  for (long i = 0; i < 2; i++) { int e = pthread_create(&t[i], NULL, worker, (void*)i); if (e) fail("pthread_create: %s", strerror(e)); }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &b)) fail("setup: TSYNC filter B: %s", strerror(errno));
  set_stage(1);
  wait_stage(2);
  char why[160];
  const char* w = wrong(0, why, sizeof why);
  if (*w) fail("setup: main: %s", w);

  ready_wait();

  set_stage(3);
  pthread_mutex_lock(&mu);
  while (done < 2) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  w = wrong(0, why, sizeof why);
  CHECK(!*w, "main thread: %s", w);
  CHECK(!result[0][0], "thread 1: %s", result[0]);
  CHECK(!result[1][0], "thread 2: %s", result[1]);
  pass();
}
