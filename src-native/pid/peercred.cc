// Pid virtualization of SO_PEERCRED (agent only): the credentials a Unix socket keeps of the
// process that made its other end (connect, socketpair, listen). A server that checks who
// connected (peer authentication, dbus, a supervisor) reads a kernel pid there; after a restart
// the connection is a new one the restorer made, so the kernel would name the restorer, or
// another process of ours, instead of the peer the program had.
//
// Capture (fd/unix.cc, every Unix socket): the peer's pid, as the application knew it, with the
// socket's number. After a restart each entry learns its socket's new inode (a number closed and
// reused since names another socket, which the inode tells). getsockopt(SO_PEERCRED) answers the
// saved pid for a saved socket and the application's id of the kernel's answer for any other.
// The table is in .bss: saved and restored with memory, refilled at every checkpoint.
#ifdef AMBER_AGENT
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

#include "pid/pid.h"
#include "sys/sys.h"

namespace {
struct Cred {
  int32_t fd;
  int32_t app_pid;  // the peer as the application knew it at the checkpoint
  uint64_t ino;     // the socket's inode (at the checkpoint; after a restart, this run's)
};
constexpr uint32_t kMax = 8192;  // more sockets than this: the rest answer through the map
Cred g_cred[kMax];
uint32_t g_ncred;

struct UCred { int32_t pid; uint32_t uid, gid; };

using GetsockoptFn = int (*)(int, int, int, void*, socklen_t*);
GetsockoptFn g_getsockopt;
__attribute__((constructor)) void peercred_init() { g_getsockopt = reinterpret_cast<GetsockoptFn>(dlsym(RTLD_NEXT, "getsockopt")); }

uint64_t inode_of(int fd) {
  sys::kstat st{};
  return sys::fstat(fd, &st) == 0 && (st.st_mode & 0170000) == 0140000 ? st.st_ino : 0;
}
}  // namespace

namespace amber {
namespace pid {
void peercred_begin() { g_ncred = 0; }

void peercred_note(int fd, uint64_t ino) {
  UCred c{};
  uint32_t len = sizeof c;
  if (g_ncred >= kMax || sys::sc5(55 /*getsockopt*/, fd, SOL_SOCKET, SO_PEERCRED, (long)&c, (long)&len) < 0 || c.pid <= 0) return;
  g_cred[g_ncred++] = Cred{fd, to_app(c.pid), ino};
}

void peercred_restarted() {
  for (uint32_t i = 0; i < g_ncred; i++) g_cred[i].ino = inode_of(g_cred[i].fd);
}
}  // namespace pid
}  // namespace amber

extern "C" __attribute__((visibility("default"))) int getsockopt(int fd, int level, int opt, void* val, socklen_t* len) {
  if (!g_getsockopt) g_getsockopt = reinterpret_cast<GetsockoptFn>(dlsym(RTLD_NEXT, "getsockopt"));
  if (!g_getsockopt) { errno = ENOSYS; return -1; }
  int r = g_getsockopt(fd, level, opt, val, len);
  if (r != 0 || level != SOL_SOCKET || opt != SO_PEERCRED || !amber::pid::active() || *len < sizeof(UCred)) return r;
  // (the call succeeded: val and len are the application's valid memory)
  UCred* c = static_cast<UCred*>(val);
  if (c->pid <= 0) return r;
  uint64_t ino = inode_of(fd);
  for (uint32_t i = 0; i < g_ncred; i++) {
    if (g_cred[i].fd == fd && ino && g_cred[i].ino == ino) {
      c->pid = g_cred[i].app_pid;
      return r;
    }
  }
  c->pid = amber::pid::to_app(c->pid);
  return r;
}
#endif  // AMBER_AGENT
