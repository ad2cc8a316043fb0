// syslog with the application's pid.
//
// openlog(..., LOG_PID, ...) makes glibc put the process's pid in every message ("ident[pid]: ...",
// to the log socket and, with LOG_PERROR, to stderr), and glibc takes that pid from the kernel
// inside libc, past the getpid wrapper: after a restart a daemon's messages named its kernel pid of
// the restored run. The wrappers keep what openlog was given; in a process whose pid the kernel no
// longer agrees with, they open the log again with the pid written into the ident
// ("ident[pid]") and LOG_PID off, which gives the very same line. Everywhere else glibc's own
// openlog/syslog run as they are.
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "pid/pid.h"
#include "sys/sys.h"

extern "C" char* program_invocation_short_name;

namespace amber {
namespace pid {
namespace {

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
using OpenlogFn = void (*)(const char*, int, int);
OpenlogFn real_openlog() {
  static OpenlogFn f = next<OpenlogFn>("openlog");
  return f;
}

// What the program asked for (openlog's arguments), and the pid the ident was last written for.
const char* g_ident;
int g_option, g_facility;
bool g_opened;
volatile int32_t g_written_for;
// Two buffers, used in turn: glibc may still be formatting a message with the previous ident in
// another thread when a forked child (or a restart) writes the next one.
char g_tag[2][256];
unsigned g_turn;

// Before a message: when LOG_PID was asked and the kernel's pid is not the application's.
void refresh() {
  if (!g_opened || !(g_option & LOG_PID) || !active()) return;
  int32_t app = app_getpid();
  if (app == (int32_t)sys::getpid()) {
    if (g_written_for) {  // a child forked after the restart: glibc's pid is right again
      g_written_for = 0;
      real_openlog()(g_ident, g_option, g_facility);
    }
    return;
  }
  if (__atomic_load_n(&g_written_for, __ATOMIC_ACQUIRE) == app) return;
  char* tag = g_tag[g_turn++ & 1];
  const char* id = g_ident ? g_ident : program_invocation_short_name;
  sys::Out(tag, sizeof g_tag[0]).s(id ? id : "").s("[").i(app).s("]");
  real_openlog()(tag, g_option & ~LOG_PID, g_facility);
  __atomic_store_n(&g_written_for, app, __ATOMIC_RELEASE);
}

}  // namespace
}  // namespace pid
}  // namespace amber

extern "C" {

__attribute__((visibility("default"))) void openlog(const char* ident, int option, int facility) {
  using namespace amber::pid;
  g_ident = ident;
  g_option = option;
  g_facility = facility;
  g_opened = true;
  g_written_for = 0;
  real_openlog()(ident, option, facility);
}

__attribute__((visibility("default"))) void closelog(void) {
  using namespace amber::pid;
  using F = void (*)();
  static F f = next<F>("closelog");
  g_opened = false;
  g_written_for = 0;
  f();
}

__attribute__((visibility("default"))) void vsyslog(int pri, const char* fmt, va_list ap) {
  using F = void (*)(int, const char*, va_list);
  static F f = amber::pid::next<F>("vsyslog");
  int e = errno;  // %m is the program's errno
  amber::pid::refresh();
  errno = e;
  f(pri, fmt, ap);
}

__attribute__((visibility("default"))) void syslog(int pri, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsyslog(pri, fmt, ap);
  va_end(ap);
}

// _FORTIFY_SOURCE's entry points (what a program built with it calls).
__attribute__((visibility("default"))) void __vsyslog_chk(int pri, int flag, const char* fmt, va_list ap) {
  using F = void (*)(int, int, const char*, va_list);
  static F f = amber::pid::next<F>("__vsyslog_chk");
  int e = errno;
  amber::pid::refresh();
  errno = e;
  f(pri, flag, fmt, ap);
}

__attribute__((visibility("default"))) void __syslog_chk(int pri, int flag, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  __vsyslog_chk(pri, flag, fmt, ap);
  va_end(ap);
}

}  // extern "C"
