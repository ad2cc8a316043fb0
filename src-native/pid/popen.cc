// popen/pclose and system with the application's pids.
//
// glibc's popen keeps the child's pid inside its FILE and pclose waits for it inside libc, past
// every wrapper: a stream opened before a checkpoint and closed after the restart waited for the
// previous run's kernel pid — ECHILD, the child left a zombie, and the program's "status of the
// command" was -1. The pid is glibc's private field; rather than write into glibc's FILE we own
// popen: the same command (/bin/sh -c), the same pipe and descriptor rules (POSIX: streams of
// earlier popen calls still open are closed in the new child; "e" keeps the parent's end
// close-on-exec), spawned through posix_spawn (our wrapper: the child is one of the computation's)
// and waited for through waitpid (our wrapper: the application's pid, translated at every call).
//
// system() likewise: glibc's spawns its shell through its internal posix_spawn, past the wrapper,
// so after a restart the shell could take a pid the computation already uses (two processes with
// one app pid); ours spawns through the wrapper (which discards a collided child) and waits through
// waitpid, with glibc's behaviour otherwise: sh -c COMMAND; SIGINT and SIGQUIT ignored in the caller
// while any system() runs (counted, under a lock), SIGCHLD blocked; the child gets the caller's mask
// and default dispositions for what was not ignored; a shell that cannot be spawned is status 127;
// system(NULL) asks whether a shell runs; cancelled while waiting, the shell is killed and reaped.
//
// A stream this file made is remembered (slot table, no lock: popen/pclose run in any thread)
// until pclose — or fclose, which for a popen stream waits for the command as glibc's does and
// returns its status. Streams made by glibc itself (a full table) go to glibc's pclose.
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pid/pid.h"
#include "sys/sys.h"

extern char** environ;

namespace amber {
namespace pid {
namespace {

struct Popened {
  FILE* fp;       // nullptr: free
  int fd1;        // the parent's end + 1, closed in later popen children (0: not yet known)
  pid_t pid;      // as the application knows it (fork's return, through our posix_spawn)
};
constexpr unsigned kPopen = 256;
Popened g_popen[kPopen];
unsigned g_popen_live;  // slots taken; fclose's fast test

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

Popened* take(FILE* fp) {
  for (unsigned i = 0; i < kPopen; i++) {
    FILE* z = nullptr;
    if (__atomic_compare_exchange_n(&g_popen[i].fp, &z, fp, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      __atomic_add_fetch(&g_popen_live, 1u, __ATOMIC_RELEASE);
      return &g_popen[i];
    }
  }
  return nullptr;
}

// The slot of fp, freed; its pid, or 0 when fp is not one of ours.
pid_t release(FILE* fp) {
  if (!fp || !__atomic_load_n(&g_popen_live, __ATOMIC_ACQUIRE)) return 0;
  for (unsigned i = 0; i < kPopen; i++) {
    if (__atomic_load_n(&g_popen[i].fp, __ATOMIC_ACQUIRE) != fp) continue;
    pid_t p = g_popen[i].pid;
    __atomic_store_n(&g_popen[i].fd1, 0, __ATOMIC_RELEASE);  // a slot taken next starts unknown
    FILE* want = fp;
    if (__atomic_compare_exchange_n(&g_popen[i].fp, &want, nullptr, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      __atomic_sub_fetch(&g_popen_live, 1u, __ATOMIC_RELEASE);
      return p;
    }
  }
  return 0;
}

int real_fclose(FILE* fp) {
  using F = int (*)(FILE*);
  static F f = next<F>("fclose");
  return f(fp);
}

// fclose the stream, then wait for its command (as glibc's _IO_new_proc_close: EINTR retried).
int close_and_wait(FILE* fp, pid_t p) {
  real_fclose(fp);
  int st = 0;
  pid_t r;
  do r = waitpid(p, &st, 0);  // our wrapper: the application's pid to this run's
  while (r == -1 && errno == EINTR);
  return r == -1 ? -1 : st;
}

// system(): the dispositions of SIGINT/SIGQUIT before the first of the running calls.
pthread_mutex_t g_sys_lock = PTHREAD_MUTEX_INITIALIZER;
unsigned g_sys_refs;
struct sigaction g_sys_intr, g_sys_quit;

void system_leave() {
  pthread_mutex_lock(&g_sys_lock);
  if (--g_sys_refs == 0) {
    sigaction(SIGINT, &g_sys_intr, nullptr);
    sigaction(SIGQUIT, &g_sys_quit, nullptr);
  }
  pthread_mutex_unlock(&g_sys_lock);
}

// Cancelled in waitpid: the shell is killed and reaped, the dispositions given back.
void system_cancelled(void* arg) {
  pid_t pid = *static_cast<pid_t*>(arg);
  kill(pid, SIGKILL);  // our wrappers: the application's pid
  int st;
  while (waitpid(pid, &st, 0) == -1 && errno == EINTR) {}
  system_leave();
}

int run_system(const char* line) {
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  pthread_mutex_lock(&g_sys_lock);
  if (g_sys_refs++ == 0) {
    sigaction(SIGINT, &ign, &g_sys_intr);
    sigaction(SIGQUIT, &ign, &g_sys_quit);
  }
  bool intr_ign = g_sys_intr.sa_handler == SIG_IGN, quit_ign = g_sys_quit.sa_handler == SIG_IGN;
  pthread_mutex_unlock(&g_sys_lock);
  sigset_t chld, omask, reset;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &omask);
  sigemptyset(&reset);
  if (!intr_ign) sigaddset(&reset, SIGINT);
  if (!quit_ign) sigaddset(&reset, SIGQUIT);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &omask);
  posix_spawnattr_setsigdefault(&attr, &reset);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  char sh[] = "sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(line), nullptr};
  int e = posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, environ);  // our wrapper (agent/exec.cc)
  posix_spawnattr_destroy(&attr);
  int status = -1;
  if (e == 0) {
    pthread_cleanup_push(system_cancelled, &pid);
    pid_t r;
    do r = waitpid(pid, &status, 0);  // our wrapper; a cancellation point
    while (r == -1 && errno == EINTR);
    if (r != pid) status = -1;
    pthread_cleanup_pop(0);
  } else {
    status = 127 << 8;  // POSIX: as if the shell had exited 127
  }
  system_leave();
  sigprocmask(SIG_SETMASK, &omask, nullptr);
  if (e) errno = e;
  return status;
}

}  // namespace
}  // namespace pid
}  // namespace amber

extern "C" {

__attribute__((visibility("default"))) int system(const char* line) {
  using namespace amber::pid;
  if (!line) return run_system("exit 0") == 0;  // is there a shell (after a chroot there may be none)
  return run_system(line);
}

__attribute__((visibility("default"))) FILE* popen(const char* command, const char* mode) {
  using namespace amber::pid;
  bool rd = false, wr = false, cloexec = false;
  for (const char* m = mode; *m; m++) {
    if (*m == 'r') rd = true;
    else if (*m == 'w') wr = true;
    else if (*m == 'e') cloexec = true;
    else { errno = EINVAL; return nullptr; }
  }
  if (rd == wr) { errno = EINVAL; return nullptr; }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return nullptr;
  const int parent = rd ? p[0] : p[1], child = rd ? p[1] : p[0], std_fd = rd ? 1 : 0;
  FILE* fp = fdopen(parent, rd ? "r" : "w");
  if (!fp) {
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    return nullptr;
  }
  Popened* slot = take(fp);
  if (!slot) {
    // No slot: glibc's own popen (its pclose is reached through ours for a stream not in the table).
    real_fclose(fp);
    close(child);
    using F = FILE* (*)(const char*, const char*);
    static F f = next<F>("popen");
    return f(command, mode);
  }
  posix_spawn_file_actions_t fa;
  int e = posix_spawn_file_actions_init(&fa);
  // dup2 onto its own number clears close-on-exec (glibc's posix_spawn, as its popen relies on)
  if (!e) e = posix_spawn_file_actions_adddup2(&fa, child, std_fd);
  for (unsigned i = 0; !e && i < kPopen; i++) {
    FILE* o = __atomic_load_n(&g_popen[i].fp, __ATOMIC_ACQUIRE);
    int fd = __atomic_load_n(&g_popen[i].fd1, __ATOMIC_ACQUIRE) - 1;
    if (o && o != fp && fd >= 0 && fd != std_fd) e = posix_spawn_file_actions_addclose(&fa, fd);
  }
  pid_t pid = 0;
  char sh[] = "sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(command), nullptr};
  if (!e) e = posix_spawn(&pid, "/bin/sh", &fa, nullptr, argv, environ);  // our wrapper (agent/exec.cc)
  posix_spawn_file_actions_destroy(&fa);
  close(child);
  if (e) {
    release(fp);
    real_fclose(fp);
    errno = e;
    return nullptr;
  }
  if (!cloexec) fcntl(parent, F_SETFD, 0);
  slot->pid = pid;
  __atomic_store_n(&slot->fd1, parent + 1, __ATOMIC_RELEASE);
  return fp;
}

__attribute__((visibility("default"))) int pclose(FILE* fp) {
  using namespace amber::pid;
  if (pid_t p = release(fp)) return close_and_wait(fp, p);
  using F = int (*)(FILE*);
  static F f = next<F>("pclose");
  return f(fp);
}

// glibc's fclose of a popen stream waits for the command and returns its status: so does ours.
__attribute__((visibility("default"))) int fclose(FILE* fp) {
  using namespace amber::pid;
  if (pid_t p = release(fp)) return close_and_wait(fp, p);
  return real_fclose(fp);
}

}  // extern "C"
