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
//
// SCM_CREDENTIALS (SO_PASSCRED) carry a pid too: sendmsg takes the one the sender states (the
// kernel refuses, unprivileged, a pid that is not the sender's own: after a restart getpid() is
// not), recvmsg gives the sender's. After a restart the wrappers translate both ways; nothing
// else in the message is touched. (sendmmsg/recvmmsg are not translated.)
#ifdef AMBER_AGENT
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "pid/pid.h"
#include "sys/sys.h"
#include "sys/usermem.h"

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

namespace {
using SendmsgFn = ssize_t (*)(int, const struct msghdr*, int);
using RecvmsgFn = ssize_t (*)(int, struct msghdr*, int);
SendmsgFn g_sendmsg;
RecvmsgFn g_recvmsg;
__attribute__((constructor)) void passcred_init() {
  g_sendmsg = reinterpret_cast<SendmsgFn>(dlsym(RTLD_NEXT, "sendmsg"));
  g_recvmsg = reinterpret_cast<RecvmsgFn>(dlsym(RTLD_NEXT, "recvmsg"));
}

// Each SCM_CREDENTIALS pid in the control buffer [ctl, ctl+len) passed through fn; true if any.
template <typename Fn>
bool each_cred(char* ctl, size_t len, Fn fn) {
  bool any = false;
  size_t off = 0;
  while (off + sizeof(struct cmsghdr) <= len) {
    struct cmsghdr h;
    memcpy(&h, ctl + off, sizeof h);
    if (h.cmsg_len < sizeof h || off + h.cmsg_len > len) break;
    if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_CREDENTIALS && h.cmsg_len >= CMSG_LEN(sizeof(UCred))) {
      UCred c;
      memcpy(&c, ctl + off + CMSG_LEN(0), sizeof c);
      if (c.pid > 0) {
        c.pid = fn(c.pid);
        memcpy(ctl + off + CMSG_LEN(0), &c, sizeof c);
        any = true;
      }
    }
    off += CMSG_ALIGN(h.cmsg_len);
  }
  return any;
}
}  // namespace

extern "C" __attribute__((visibility("default"))) ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  if (!g_sendmsg) g_sendmsg = reinterpret_cast<SendmsgFn>(dlsym(RTLD_NEXT, "sendmsg"));
  if (!g_sendmsg) { errno = ENOSYS; return -1; }
  if (__builtin_expect(amber::pid::active(), 0)) {
    // Copies read safely (an invalid pointer goes to libc, which answers EFAULT): a small control
    // buffer only (credentials are 32 bytes; a larger one is sent as it is).
    struct msghdr m;
    char ctl[512];
    if (sys::vm_read(&m, msg, sizeof m) == (long)sizeof m && m.msg_control && m.msg_controllen > 0 &&
        m.msg_controllen <= sizeof ctl && sys::vm_read(ctl, m.msg_control, m.msg_controllen) == (long)m.msg_controllen &&
        each_cred(ctl, m.msg_controllen, amber::pid::to_real)) {
      m.msg_control = ctl;
      return g_sendmsg(fd, &m, flags);
    }
  }
  return g_sendmsg(fd, msg, flags);
}

extern "C" __attribute__((visibility("default"))) ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  if (!g_recvmsg) g_recvmsg = reinterpret_cast<RecvmsgFn>(dlsym(RTLD_NEXT, "recvmsg"));
  if (!g_recvmsg) { errno = ENOSYS; return -1; }
  ssize_t r = g_recvmsg(fd, msg, flags);
  // (it succeeded: msg and its control buffer are the application's valid memory)
  if (r >= 0 && __builtin_expect(amber::pid::active(), 0) && msg->msg_control && msg->msg_controllen)
    each_cred(static_cast<char*>(msg->msg_control), msg->msg_controllen, amber::pid::to_app);
  return r;
}

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
