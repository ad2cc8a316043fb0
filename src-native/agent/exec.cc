// Process creation: the exec family, posix_spawn and fork.
//
// exec: every new program of a computation must carry the agent, even when the application
// rewrites its environment (clearenv, env -i, execve with a hand-made envp, a shell that builds
// envp from its own variable table copied before a restart). Each wrapper hands the kernel an
// environment that holds LD_PRELOAD with libamber.so (and the plugins preloaded before it) and
// the agent's settings, taken from the agent's own state — not from environ, which the
// application may have cleared and which after a restart still holds the previous run's values.
// glibc's exec* functions call the internal __execve, never the exported execve: each public
// variant needs its own wrapper.
//
// These run in vfork children (posix_spawn's is glibc-internal, but an application's own vfork
// child calls execve here) which share the parent's memory and stack: no malloc, no locks, no
// writes to global state. The new environment is built on the stack; when it does not fit the
// application's environment passes through unchanged (one message).
//
// fork: after a restart the kernel may give a new child a pid that another process of the
// computation has as its app pid (or that a restored, since exited process had as its kernel
// pid); the pid map would then misroute kill/waitpid. Such a child is discarded and the fork
// taken again (DMTCP does the same).
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <utmp.h>
#include <sys/stat.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "fd/stdio.h"
#include "pid/pid.h"
#include "proc/rlimit.h"
#include "proc/seccomp.h"
#include "sys/sys.h"
#include "sys/usermem.h"

// libc's vfork, which agent/vfork.S jumps to until a restart (resolved in the constructor).
extern "C" {
__attribute__((visibility("hidden"))) void* amber_vfork_real = nullptr;
}

namespace amber {
namespace {

constexpr size_t kMaxEnv = 1024;   // entries of the new environment (pointers on the stack)
constexpr size_t kStrBuf = 8192;   // bytes for the strings we make (LD_PRELOAD, AMBER_*)
constexpr long kNR_execve = 59, kNR_execveat = 322;

// Taken in the constructor, before the application can change anything: our own path, the
// LD_PRELOAD entries up to and including ours (plugins come first: lib/launch.ts preloadValue),
// and the AMBER_* variables the launcher set that are not agent state (AMBER_DIR, AMBER_PLUGINS).
char g_self[512];
char g_preload[1024];      // space-separated
char g_extra[2048];        // NAME=VALUE\0NAME=VALUE\0\0
int g_default_sig;
bool g_warned;

// Names whose value comes from the agent's state: the application's entries are dropped.
const char* const kForced[] = {"LD_PRELOAD", "AMBER_COORD", "AMBER_TOKEN", "AMBER_SIGNAL", "AMBER_VPID",
                               "AMBER_VPID_PID", "AMBER_PARENT_VPID", "AMBER_APP_PID", "AMBER_APP_PPID",
                               "AMBER_RESTART_PPID", "AMBER_STDIO", "AMBER_FSIZE_MAX", "AMBER_COORD_FD",
                               "AMBER_SECCOMP_FD", "AMBER_SPAWN_TRY", "AMBER_LANDLOCKED"};

// "NAME=..." has name `name`.
bool named(const char* e, const char* name) {
  size_t n = sys::slen(name);
  return !strncmp(e, name, n) && e[n] == '=';
}

bool forced(const char* e) {
  if (e[0] != 'A' && e[0] != 'L') return false;
  for (const char* n : kForced)
    if (named(e, n)) return true;
  return false;
}

// The name part of "NAME=VALUE" (length up to '=').
size_t name_len(const char* e) {
  size_t n = 0;
  while (e[n] && e[n] != '=') n++;
  return n;
}

bool env_has(char* const* envp, const char* e) {
  size_t n = name_len(e);
  for (char* const* p = envp; p && *p; p++)
    if (!strncmp(*p, e, n) && (*p)[n] == '=') return true;
  return false;
}

bool is_sep(char c) { return c == ' ' || c == ':'; }

// Is the LD_PRELOAD entry [s, s+n) our library? Our exact path, or any libamber.so (an amber
// from elsewhere is still an agent: never preload two).
bool is_agent(const char* s, size_t n) {
  size_t sl = sys::slen(g_self);
  if (n == sl && !memcmp(s, g_self, n)) return true;
  static const char kBase[] = "libamber.so";
  size_t bl = sizeof kBase - 1;
  return n >= bl && !memcmp(s + n - bl, kBase, bl) && (n == bl || s[n - bl - 1] == '/');
}

// Does the space/colon-separated list contain entry [s, s+n)?
bool list_has(const char* list, const char* s, size_t n) {
  for (const char* p = list; *p;) {
    while (is_sep(*p)) p++;
    size_t k = 0;
    while (p[k] && !is_sep(p[k])) k++;
    if (k && k == n && !memcmp(p, s, n)) return true;
    p += k;
  }
  return false;
}

bool list_has_agent(const char* list) {
  for (const char* p = list; *p;) {
    while (is_sep(*p)) p++;
    size_t k = 0;
    while (p[k] && !is_sep(p[k])) k++;
    if (k && is_agent(p, k)) return true;
    p += k;
  }
  return false;
}

struct EnvBuf {
  char* v[kMaxEnv];
  char s[kStrBuf];
  // The program's seccomp filters for the new program's agent (proc/seccomp.agent.cc); closed
  // here when the exec failed, or after a spawn (the child has its copy).
  int sc_fd = -1;
  // posix_spawn's attempt number for the new program's agent (AMBER_SPAWN_TRY), -1: none.
  int spawn_try = -1;
  ~EnvBuf() {
    if (sc_fd >= 0) sys::close(sc_fd);
  }
};

// Appends one NUL-terminated string to b->s; returns it, or nullptr when out of room.
struct Strs {
  EnvBuf* b;
  size_t used = 0;
  sys::Out begin() { return sys::Out(b->s + used, kStrBuf - used); }
  char* commit(const sys::Out& o) {
    if (o.len + 1 >= o.cap) return nullptr;  // truncated (Out silently stops at cap - 1)
    char* r = b->s + used;
    used += o.len + 1;
    return r;
  }
};

// Can every entry of envp, and every string it points to, be read? The kernel answers EFAULT
// for an environment it cannot read; we must not fault while looking at one first. One probe per
// page (sys::PageProbe): an environment usually lives in a few.
bool env_readable(char* const* envp) {
  sys::PageProbe probe;
  for (char* const* p = envp;; p++) {
    if (!probe.range(p, sizeof *p)) return false;
    if (!*p) return true;
    if (!probe.str(*p)) return false;
  }
}

// A process that runs as another user than the coordinator's root (setuid after launch) and execs:
// the new program's agent could not connect to the coordinator's socket, so a connection is asked
// for (coord_conn_for_child, agent.cc) and inherited (not close-on-exec) under AMBER_COORD_FD.
// Only in the process itself: a vfork child shares our memory but not our descriptor table (the
// connection would arrive in ours). The destructor runs when the exec failed (or after a spawn).
int g_exec_conn = -1;
}  // namespace
// A connection made for the program this process is about to exec (fd/fd.cc: the agent's, not
// captured), or -1.
int exec_conn_fd() { return g_exec_conn; }
namespace {
struct ExecConn {
  ExecConn() {
    g_exec_conn = -1;
    if (!g.active || sys::getpid() != g.pid) return;
    int fd = coord_conn_for_child();
    if (fd < 0) return;
    long nf = sys::fcntl(fd, 0 /*F_DUPFD: inherited by the new program*/, 900);
    sys::close(fd);
    g_exec_conn = nf >= 0 ? (int)nf : -1;
  }
  ~ExecConn() {
    if (g_exec_conn >= 0 && sys::getpid() == g.pid) sys::close(g_exec_conn);
    g_exec_conn = -1;
  }
};

// The environment the new program gets: envp unless the agent is active, then a copy on the
// caller's stack (b) with our entries. Never allocates, never writes global state. An envp that
// cannot be read passes through untouched: the exec fails with EFAULT, as it would without us.
char* const* build_env(char* const* envp, EnvBuf* b) {
  if (!g.active || (envp && !env_readable(envp))) return envp;
  size_t n = 0;
  const char* app_preload = nullptr;
  Strs st{b};
  bool ok = true;
  for (char* const* p = envp; p && *p; p++) {
    if (named(*p, "LD_PRELOAD")) { app_preload = *p + 11; continue; }
    if (forced(*p)) continue;
    if (n + 1 >= kMaxEnv - 16) { ok = false; break; }
    b->v[n++] = *p;
  }
  // LD_PRELOAD: the application's list if it still holds the agent, else ours in front of it.
  if (ok) {
    sys::Out o = st.begin();
    o.s("LD_PRELOAD=");
    if (app_preload && list_has_agent(app_preload)) {
      o.s(app_preload);
    } else {
      const char* mine = g_preload[0] ? g_preload : g_self;
      bool first = true;
      for (const char* p = mine; *p;) {
        while (is_sep(*p)) p++;
        size_t k = 0;
        while (p[k] && !is_sep(p[k])) k++;
        if (k && !(app_preload && list_has(app_preload, p, k))) {
          if (!first) o.c(' ');
          o.sn(p, k);
          first = false;
        }
        p += k;
      }
      if (app_preload && *app_preload) o.c(' ').s(app_preload);
    }
    char* e = st.commit(o);
    if (e) b->v[n++] = e; else ok = false;
  }
  // The agent's state.
  if (ok && b->sc_fd < 0) b->sc_fd = seccomp::exec_fd();
  uint64_t fsize_max = 0;
  bool fsize_virtual = rlim::virtual_max(&fsize_max);
  struct { const char* name; const char* str; int64_t num; bool on; } vars[] = {
      {"AMBER_COORD", g.coord_path, 0, true},
      {"AMBER_TOKEN", g.token, 0, g.token[0] != 0},
      {"AMBER_SIGNAL", nullptr, g.sig, g.sig != g_default_sig},
      // An exec'd program (same pid) keeps our identity; a vfork child's program (another pid)
      // sees AMBER_VPID_PID != its pid and takes AMBER_VPID as its parent's vpid.
      {"AMBER_VPID", nullptr, g.vpid, true},
      {"AMBER_VPID_PID", nullptr, g.pid, true},
      {"AMBER_PARENT_VPID", nullptr, g.parent_vpid, true},
      // Pid virtualization state of this process, for the agent of the program it becomes.
      {"AMBER_APP_PID", nullptr, g.app_pid, true},
      {"AMBER_APP_PPID", nullptr, g.app_ppid, true},
      {"AMBER_RESTART_PPID", nullptr, g.restart_ppid, true},
      // The launcher's stdio identities (fd/stdio.cc): a program we exec is not a new launch.
      {"AMBER_STDIO", stdio_env(), 0, stdio_env()[0] != 0},
      // The program's own RLIMIT_FSIZE hard limit, when the kernel's is kept above it (proc/rlimit.agent.cc).
      {"AMBER_FSIZE_MAX", nullptr, (int64_t)fsize_max, fsize_virtual},
      // The connection to the coordinator the new program's agent uses (ExecConn).
      {"AMBER_COORD_FD", nullptr, g_exec_conn, g_exec_conn >= 0},
      // The seccomp filters the program installed (they stay in force across the exec).
      {"AMBER_SECCOMP_FD", nullptr, b->sc_fd, b->sc_fd >= 0},
      // A program posix_spawn starts, which its parent takes again if its pid collides (spawn).
      {"AMBER_SPAWN_TRY", nullptr, b->spawn_try, b->spawn_try >= 0},
      // A Landlock domain taken since the launch (it outlives the exec; agent.h).
      {"AMBER_LANDLOCKED", nullptr, 1, g.landlocked},
  };
  for (auto& v : vars) {
    if (!ok) break;
    if (!v.on) continue;
    sys::Out o = st.begin();
    o.s(v.name).c('=');
    if (v.str) o.s(v.str); else o.i(v.num);
    char* e = st.commit(o);
    if (e) b->v[n++] = e; else ok = false;
  }
  // The launcher's other AMBER_* settings, unless the application set its own.
  for (const char* e = g_extra; ok && *e; e += sys::slen(e) + 1) {
    if (n + 1 >= kMaxEnv) { ok = false; break; }
    b->v[n] = nullptr;
    if (!env_has(b->v, e)) b->v[n++] = const_cast<char*>(e);
  }
  if (!ok) {
    if (!g_warned) {
      // A benign race in a vfork child at worst: the flag only silences repeats.
      g_warned = true;
      static const char msg[] = "amber: exec: the environment is too large to add the agent to; the new program runs without it\n";
      sys::write_all(2, msg, sizeof msg - 1);
    }
    return envp;
  }
  b->v[n] = nullptr;
  return b->v;
}

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

using execvpe_t = int (*)(const char*, char* const[], char* const[]);
using fexecve_t = int (*)(int, char* const[], char* const[]);
using spawn_t = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                        char* const[], char* const[]);
using fork_t = pid_t (*)();
// Resolved in the constructor: dlsym takes the loader's lock, which a vfork child must not.
execvpe_t g_execvpe;
fexecve_t g_fexecve;
spawn_t g_spawn, g_spawnp;
fork_t g_fork;

int fail(long r) {
  errno = (int)-r;
  return -1;
}

// The suspend signal across an exec: the new program starts with its default action (terminate)
// until its agent's constructor installs the handler, and our checkpoint thread may signal this
// thread at any moment (a shell's child that registered, then execs while a checkpoint suspends
// it: `sleep` killed by "Real-time signal 28"). Blocked for the exec (the mask survives it); the
// new agent unblocks it once its handler is in place (agent_init), and a failed exec unblocks it
// here, when a pending one parks the thread as usual. A program exec'd without the agent (static,
// setuid) starts with it blocked.
struct ExecGuard {
  uint64_t old = 0;
  bool on = false;
  ExecGuard() {
    if (!g.active || !g.sig) return;
    uint64_t b = park_block_mask();  // (a SIGSETXID pending at the exec would kill the new program)
    on = sys::rt_sigprocmask(0 /*SIG_BLOCK*/, &b, &old) == 0;
  }
  ~ExecGuard() {  // only reached when the exec failed
    if (on) sys::rt_sigprocmask(2 /*SIG_SETMASK*/, &old, nullptr);
  }
};

// An exec of /proc/self/exe (a program re-running itself: servers that re-exec on upgrade, test
// runners, multiprocessing's spawn) must run the program after a restart, not the restorer the
// kernel's link names: every exec path goes through pid::exec_path as open's paths do.
#define AMBER_EXEC_PATH(p)             \
  char p##_buf_[PATH_MAX + 32];         \
  p = pid::exec_path(p, p##_buf_, sizeof p##_buf_)

int do_execve(const char* path, char* const argv[], char* const envp[]) {
  AMBER_EXEC_PATH(path);
  ExecConn conn;
  EnvBuf b;
  char* const* env = build_env(envp, &b);
  ExecGuard guard;
  return fail(sys::sc3(kNR_execve, (long)path, (long)argv, (long)env));
}

int do_execvpe(const char* file, char* const argv[], char* const envp[]) {
  if (!g_execvpe) g_execvpe = next<execvpe_t>("execvpe");
  AMBER_EXEC_PATH(file);
  ExecConn conn;
  EnvBuf b;
  char* const* env = build_env(envp, &b);
  ExecGuard guard;
  return g_execvpe(file, argv, env);
}

// Snapshot of what the launcher gave us (see g_self above).
__attribute__((constructor)) void exec_init() {
  g_default_sig = SIGRTMAX - 2;
  Dl_info di{};
  if (dladdr(reinterpret_cast<void*>(&exec_init), &di) && di.dli_fname)
    sys::Out(g_self, sizeof g_self).s(di.dli_fname);
  sys::Out pre(g_preload, sizeof g_preload), ex(g_extra, sizeof g_extra - 1);
  for (char** e = environ; e && *e; e++) {
    if (named(*e, "LD_PRELOAD")) {
      // Everything up to and including the agent: plugins are preloaded before it.
      for (const char* p = *e + 11; *p;) {
        while (is_sep(*p)) p++;
        size_t k = 0;
        while (p[k] && !is_sep(p[k])) k++;
        if (!k) break;
        if (pre.len) pre.c(' ');
        pre.sn(p, k);
        if (is_agent(p, k)) break;
        p += k;
      }
      if (pre.len + 1 >= pre.cap || !list_has_agent(g_preload)) g_preload[0] = 0;
    } else if (!strncmp(*e, "AMBER_", 6) && !forced(*e)) {
      size_t l = sys::slen(*e);
      if (ex.len + l + 2 < ex.cap) { ex.s(*e); ex.len++; }  // keep the NUL as separator
    }
  }
  g_extra[ex.len] = 0;
  g_execvpe = next<execvpe_t>("execvpe");
  g_fexecve = next<fexecve_t>("fexecve");
  g_spawn = next<spawn_t>("posix_spawn");
  g_spawnp = next<spawn_t>("posix_spawnp");
  g_fork = next<fork_t>("fork");
  amber_vfork_real = dlsym(RTLD_NEXT, "vfork");
}

// Collects execl-style arguments (arg0, ..., NULL) into a stack array; *envp gets the pointer
// after the NULL when want_env (execle).
#define AMBER_COLLECT_ARGS(arg0, ap, argv, want_env, envp)                      \
  size_t argc_ = 1;                                                             \
  {                                                                             \
    va_list cnt;                                                                \
    va_copy(cnt, ap);                                                           \
    while (va_arg(cnt, const char*)) argc_++;                                   \
    va_end(cnt);                                                                \
  }                                                                             \
  char** argv = static_cast<char**>(__builtin_alloca((argc_ + 1) * sizeof(char*))); \
  argv[0] = const_cast<char*>(arg0);                                            \
  for (size_t i_ = 1; i_ <= argc_; i_++) argv[i_] = va_arg(ap, char*);           \
  if (want_env) envp = va_arg(ap, char* const*);

}  // namespace

// A fork child whose kernel pid already means another process in the pid map (see top).
bool pid_collides(int32_t kernel_pid) {
  return pid::to_real(kernel_pid) != kernel_pid || pid::to_app(kernel_pid) != kernel_pid;
}

// The fork wrapper's attempt number, inherited by the child: the child discards itself on a
// collision only while the parent will retry (the same decision, from the same inherited map).
volatile int g_fork_try;
constexpr int kForkTries = 64;

// Is pid a child of this process in this run (alive, stopped or a zombie)? Asked without reaping.
bool is_child(int32_t pid) {
  if (pid <= 0) return false;
  siginfo_t si;
  return sys::sc5(247 /*waitid*/, 1 /*P_PID*/, pid, (long)&si,
                  4 /*WEXITED*/ | 2 /*WSTOPPED*/ | 8 /*WCONTINUED*/ | 1 /*WNOHANG*/ | 0x01000000 /*WNOWAIT*/ | 0x40000000 /*__WALL*/, 0) == 0;
}

bool fork_child_doomed() {
  return g_fork_try < kForkTries && pid_collides((int32_t)sys::getpid());
}

int spawn_retrying(spawn_t real, pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa,
                   const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  for (int t = 0;; t++) {
    EnvBuf b;
    b.spawn_try = t < kForkTries ? t : -1;
    uint32_t epoch = __atomic_load_n(&g.restarts, __ATOMIC_ACQUIRE);
    pid_t r = 0;
    int e = real(&r, path, fa, attr, argv, build_env(envp, &b));
    if (e == 0 && g.active && t < kForkTries && pid_collides(r) &&
        // (a checkpoint in between: r is the restored child's previous kernel pid: see fork)
        !(__atomic_load_n(&g.restarts, __ATOMIC_ACQUIRE) != epoch && !is_child(r) && is_child(pid::to_real(r)))) {
      sys::kill(r, SIGKILL);  // it exits by itself; this makes sure of it
      int st = 0;
      long w;
      do w = sys::sc4(sys::NR_wait4, r, (long)&st, __WALL, 0);
      while (w == -EINTR);
      continue;
    }
    if (e == 0 && pid) *pid = r;
    return e;
  }
}

}  // namespace amber

using amber::build_env;
using amber::EnvBuf;

extern "C" {

__attribute__((visibility("default"))) int execve(const char* path, char* const argv[], char* const envp[]) {
  return amber::do_execve(path, argv, envp);
}

__attribute__((visibility("default"))) int execv(const char* path, char* const argv[]) {
  return amber::do_execve(path, argv, environ);
}

__attribute__((visibility("default"))) int execvpe(const char* file, char* const argv[], char* const envp[]) {
  return amber::do_execvpe(file, argv, envp);
}

__attribute__((visibility("default"))) int execvp(const char* file, char* const argv[]) {
  return amber::do_execvpe(file, argv, environ);
}

__attribute__((visibility("default"))) int execl(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  char* const* envp = nullptr;
  AMBER_COLLECT_ARGS(arg, ap, argv, false, envp)
  va_end(ap);
  (void)envp;
  return amber::do_execve(path, argv, environ);
}

__attribute__((visibility("default"))) int execle(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  char* const* envp = nullptr;
  AMBER_COLLECT_ARGS(arg, ap, argv, true, envp)
  va_end(ap);
  return amber::do_execve(path, argv, envp);
}

__attribute__((visibility("default"))) int execlp(const char* file, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  char* const* envp = nullptr;
  AMBER_COLLECT_ARGS(arg, ap, argv, false, envp)
  va_end(ap);
  (void)envp;
  return amber::do_execvpe(file, argv, environ);
}

__attribute__((visibility("default"))) int fexecve(int fd, char* const argv[], char* const envp[]) {
  if (!amber::g_fexecve) amber::g_fexecve = amber::next<amber::fexecve_t>("fexecve");
  amber::ExecConn conn;
  EnvBuf b;
  // glibc refuses a NULL envp here (EINVAL) where execve takes it as empty: let it.
  char* const* env = envp ? build_env(envp, &b) : envp;
  amber::ExecGuard guard;
  return amber::g_fexecve(fd, argv, env);
}

__attribute__((visibility("default"))) int execveat(int dirfd, const char* path, char* const argv[],
                                                    char* const envp[], int flags) {
  using amber::pid::exec_path;
  char buf[PATH_MAX + 32];
  path = exec_path(path, buf, sizeof buf);  // a relative path (to dirfd) is never rewritten
  amber::ExecConn conn;
  EnvBuf b;
  char* const* env = build_env(envp, &b);
  amber::ExecGuard guard;
  return amber::fail(sys::sc5(amber::kNR_execveat, dirfd, (long)path, (long)argv, (long)env, flags));
}

// posix_spawn's child is glibc's own (clone CLONE_VM|CLONE_VFORK, then the internal __execve):
// the environment is made here, in the parent, and handed to it.
//
// After a restart the kernel may give the new program a pid another process of the computation
// has as its app pid, as with fork (top). The new program's agent, told so by AMBER_SPAWN_TRY,
// looks at the pid map the coordinator gives it before main and exits (kForkCollisionExit) if its
// pid collides; posix_spawn returns only once the exec succeeded, so the wrapper reaps that
// program here and spawns again. Nothing of the program has run.

__attribute__((visibility("default"))) int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa,
                                                       const posix_spawnattr_t* attr, char* const argv[],
                                                       char* const envp[]) {
  if (!amber::g_spawn) amber::g_spawn = amber::next<amber::spawn_t>("posix_spawn");
  char buf[PATH_MAX + 32];
  path = amber::pid::exec_path(path, buf, sizeof buf);
  amber::ExecConn conn;
  return amber::spawn_retrying(amber::g_spawn, pid, path, fa, attr, argv, envp);
}

__attribute__((visibility("default"))) int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa,
                                                        const posix_spawnattr_t* attr, char* const argv[],
                                                        char* const envp[]) {
  if (!amber::g_spawnp) amber::g_spawnp = amber::next<amber::spawn_t>("posix_spawnp");
  char buf[PATH_MAX + 32];
  file = amber::pid::exec_path(file, buf, sizeof buf);
  amber::ExecConn conn;
  return amber::spawn_retrying(amber::g_spawnp, pid, file, fa, attr, argv, envp);
}

// vfork (agent/vfork.S). The application's own vfork child runs its code (dup2, chdir...) before
// its exec, so a pid that collides after a restart cannot be given back the way posix_spawn's can.
// After a restart vfork is therefore a fork, through the wrapper below that discards a collided
// child: POSIX allows it (a vfork child may only call _exit or an exec; one that writes the
// parent's memory is undefined), and it costs a copy of the page tables, only after a restart.
extern "C" __attribute__((visibility("hidden"))) int amber_vfork_as_fork() {
  return amber::g.active && __atomic_load_n(&amber::g.restarts, __ATOMIC_ACQUIRE) != 0;
}

__attribute__((visibility("default"))) pid_t fork(void) {
  if (!amber::g_fork) amber::g_fork = amber::next<amber::fork_t>("fork");
  // Only after a restart can a new pid collide (before it the map is empty): then a collided
  // child exits at once (after_fork_child) and is reaped here, out of the application's sight
  // but for one SIGCHLD, and the fork is taken again.
  for (int t = 0;; t++) {
    amber::g_fork_try = t;
    uint32_t epoch = __atomic_load_n(&amber::g.restarts, __ATOMIC_ACQUIRE);
    pid_t r = amber::g_fork();
    if (r <= 0 || !amber::g.active) return r;
    // A checkpoint that came after the kernel made the child, before this returned (the thread
    // parked in glibc's fork, or here): after the restart r is the previous run's kernel pid of
    // the child, which is its app pid. The child was checkpointed with us (or made again as a
    // zombie): the new map names it, and it is no collision — taking it for one killed a stranger
    // by that old pid, forked again and left the restored child to nobody (its parent waited for
    // another one; "a child is left over"). A fork the kernel ran after the restart returns a
    // child of this run, which is checked as usual.
    if (__atomic_load_n(&amber::g.restarts, __ATOMIC_ACQUIRE) != epoch && !amber::is_child(r) &&
        amber::is_child(amber::pid::to_real(r)))
      return r;
    if (t >= amber::kForkTries || !amber::pid_collides(r)) return r;
    // The child exits by itself (after_fork_child); the kill makes sure of it.
    sys::kill(r, SIGKILL);
    int st = 0;
    long w;
    do w = sys::sc4(sys::NR_wait4, r, (long)&st, __WALL, 0);
    while (w == -EINTR);
  }
}

// daemon and forkpty: glibc's call its fork inside libc, past the wrapper above, so a child they
// made after a restart could take a pid the computation already uses. Both are rebuilt here on
// the wrapper, with glibc's documented behaviour.
__attribute__((visibility("default"))) int daemon(int nochdir, int noclose) {
  switch (fork()) {
    case -1: return -1;
    case 0: break;
    default: _exit(0);
  }
  if (setsid() == -1) return -1;
  if (!nochdir && chdir("/") != 0) {}  // (glibc does not fail on it either)
  if (!noclose) {
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0) return -1;
    // (as glibc: only onto the standard descriptors if it really is the null device)
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
      close(fd);
      errno = ENODEV;
      return -1;
    }
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2) close(fd);
  }
  return 0;
}

__attribute__((visibility("default"))) pid_t forkpty(int* amaster, char* name, const struct termios* termp,
                                                     const struct winsize* winp) {
  int master, slave;
  if (openpty(&master, &slave, name, termp, winp) == -1) return -1;
  pid_t pid = fork();
  if (pid == -1) {
    int e = errno;
    close(master);
    close(slave);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    close(master);
    if (login_tty(slave)) _exit(1);
    return 0;
  }
  *amaster = master;
  close(slave);
  return pid;
}

}  // extern "C"
