// The kinds of descriptor amber checkpoints and restores, and the one table of per-kind operations
// (CRIU's fdtype ops were the model). Each kind lives in ONE file of this folder holding both
// halves against its record in image/format.h: capture (in the agent, while every thread of the
// process is parked) and rebuild (in the restorer, freestanding, raw syscalls). fd/fd.cc is the
// dispatcher: it walks the descriptor table, decides each descriptor's kind, and calls the kind.
//
// The table is the X-macro below. It is compiled into switches, not into an array of function
// pointers: the restorer is a static PIE that must run from any address without relocations, and
// a table of pointers in .data would need them.
//
// Adding a kind: one record (or subkind) in image/format.h, one line here, one file defining the
// seven operations below for it (ops.h's AMBER_FD_* helper macros cover the ones it does not
// need), a way for fd.cc's classify functions to recognise it, and one test program
// (test/fixtures/*.c + test/*.ts). See src-native/README.md.
#ifndef AMBER_FD_OPS_H
#define AMBER_FD_OPS_H

#include <stdint.h>

#include "image/format.h"
#include "sys/sys.h"

//  X(ENUM,     name,     what it is (messages))
#define AMBER_FD_KINDS(X)                                              \
  X(FILE,      file,      "regular file")                              \
  X(DIR,       dir,       "directory")                                 \
  X(CHR,       chr,       "character device")                          \
  X(PTY,       pty,       "pseudo-terminal")                           \
  X(PIPE,      pipe,      "pipe or FIFO")                              \
  X(UNIX,      unixsk,    "Unix socket")                               \
  X(INET,      inet,      "TCP/IP socket")                             \
  X(NETLINK,   netlink,   "netlink socket")                            \
  X(EVENTFD,   eventfd,   "eventfd")                                   \
  X(TIMERFD,   timerfd,   "timerfd")                                   \
  X(SIGNALFD,  signalfd,  "signalfd")                                  \
  X(EPOLL,     epoll,     "epoll instance")                            \
  X(PIDFD,     pidfd,     "pidfd")                                     \
  X(INOTIFY,   inotify,   "inotify instance")                          \
  X(FANOTIFY,  fanotify,  "fanotify instance")                         \
  X(UFFD,      uffd,      "userfaultfd")                               \
  X(MQUEUE,    mqueue,    "POSIX message queue")                       \
  X(OTHER,     other,     "kernel object amber cannot rebuild")

namespace amber { struct Capture; }
namespace rs { struct Proc; }

namespace fd {

enum class Kind : uint8_t {
#define AMBER_FD_ENUM(K, name, what) K,
  AMBER_FD_KINDS(AMBER_FD_ENUM)
#undef AMBER_FD_ENUM
};
#define AMBER_FD_COUNT(K, name, what) +1
constexpr int kKinds = 0 AMBER_FD_KINDS(AMBER_FD_COUNT);
#undef AMBER_FD_COUNT

// A kind's restore returns a new descriptor (lifted above every saved number) for the dispatcher
// to put back, PLACED when it put the descriptor back itself (and maybe others of the same
// object, marking them in Proc::done), or a negative errno: the dispatcher then gives the number
// /dev/null, so the application sees end-of-file rather than a number reused by accident.
constexpr long PLACED = -100000;

// The operations, NAME_op for every kind NAME of the list:
//
// agent (AMBER_AGENT):
//   void NAME_capture(amber::Capture& c, amber_fd& f, const sys::kstat& st)
//        f has the common fields (fd, kind code, path, mode, dev, inode, size, flags, pos,
//        fd_flags; c.info holds its /proc/self/fdinfo text): add what this kind needs to be
//        rebuilt (subkind, extra, data). A failure that would lose state sets c's error.
//   bool NAME_restorable(const amber::Capture& c, const amber_fd& f)
//        false: the checkpoint names the descriptor as one the restart cannot rebuild.
//   void NAME_resumed()
//        the process goes on after a checkpoint: undo what capture changed.
// restorer (AMBER_RESTORER):
//   void NAME_check(int img)
//        stage 1, nothing started yet: refuse (rs::die) what cannot be rebuilt on this host.
//   void NAME_prepare()
//        before the tree is forked: make the objects several processes share, once, and record
//        them in T.img[k].prep[i] (lifted; every forked process inherits them).
//   long NAME_restore(rs::Proc& p, uint32_t i)
//        in the restored process, for saved descriptor i not prepared before the fork.
//   void NAME_finish(rs::Proc& p)
//        once every descriptor of the process is back (epoll interest lists).
#define AMBER_FD_DECLARE(K, name, what)                                                      \
  void name##_capture(amber::Capture& c, amber_fd& f, const sys::kstat& st);                 \
  bool name##_restorable(const amber::Capture& c, const amber_fd& f);                        \
  void name##_resumed();                                                                     \
  void name##_check(int img);                                                                \
  void name##_prepare();                                                                     \
  long name##_restore(rs::Proc& p, uint32_t i);                                              \
  void name##_finish(rs::Proc& p);
AMBER_FD_KINDS(AMBER_FD_DECLARE)
#undef AMBER_FD_DECLARE

// For the operations a kind does not need (use the one matching the build half you are in).
#define AMBER_FD_NO_RESUMED(name) void name##_resumed() {}
#define AMBER_FD_NO_CHECK(name) void name##_check(int) {}
#define AMBER_FD_NO_PREPARE(name) void name##_prepare() {}
#define AMBER_FD_NO_FINISH(name) void name##_finish(rs::Proc&) {}

// What a kind is, for messages.
inline const char* kind_name(Kind k) {
  switch (k) {
#define AMBER_FD_NAME(K, name, what) case Kind::K: return what;
    AMBER_FD_KINDS(AMBER_FD_NAME)
#undef AMBER_FD_NAME
  }
  return "descriptor";
}

// The kind of a saved record (both halves read records: the agent to name what cannot be
// rebuilt, the restorer to dispatch). `data`/`len`: the record's data bytes (sockets carry their
// family there), or null.
inline Kind kind_of(const amber_fd& f, const void* data, uint32_t len) {
  switch (f.kind) {
    case AMBER_FD_FILE: return f.subkind == AMBER_FILE_MQUEUE ? Kind::MQUEUE : Kind::FILE;
    case AMBER_FD_DIR: return Kind::DIR;
    case AMBER_FD_CHR:
      return (f.subkind == AMBER_CHR_PTMX || f.subkind == AMBER_CHR_PTS) ? Kind::PTY : Kind::CHR;
    case AMBER_FD_PIPE: return Kind::PIPE;
    case AMBER_FD_SOCKET: {
      if (!data || len < sizeof(amber_sockinfo)) return Kind::OTHER;
      uint16_t family;
      __builtin_memcpy(&family, data, sizeof family);  // amber_sockinfo.family is first
      if (family == 1 /*AF_UNIX*/) return Kind::UNIX;
      if (family == 2 /*AF_INET*/ || family == 10 /*AF_INET6*/) return Kind::INET;
      if (family == 16 /*AF_NETLINK*/) return Kind::NETLINK;
      return Kind::OTHER;
    }
    case AMBER_FD_ANON:
      switch (f.subkind) {
        case AMBER_ANON_EVENTFD: return Kind::EVENTFD;
        case AMBER_ANON_TIMERFD: return Kind::TIMERFD;
        case AMBER_ANON_SIGNALFD: return Kind::SIGNALFD;
        case AMBER_ANON_EPOLL: return Kind::EPOLL;
        case AMBER_ANON_PIDFD: return Kind::PIDFD;
        case AMBER_ANON_INOTIFY: return Kind::INOTIFY;
        case AMBER_ANON_FANOTIFY: return Kind::FANOTIFY;
        case AMBER_ANON_USERFAULTFD: return Kind::UFFD;
        default: return Kind::OTHER;
      }
    default: return Kind::OTHER;
  }
}

}  // namespace fd

#endif
