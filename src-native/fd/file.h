// What the file kinds (fd/file.cc, fd/dir.cc) and the state every descriptor of a file may carry
// (locks: fd/lock.cc; owner and signal: fd/owner.agent.cc) offer the dispatcher (fd/fd.cc) and
// each other.
#ifndef AMBER_FD_FILE_H
#define AMBER_FD_FILE_H

#include <stdint.h>
#include <sys/types.h>

#include "fd/ops.h"

#ifdef AMBER_AGENT
namespace fd {
// /proc/<pid>/...: the pid, or 0 when the path is not of that form.
int32_t proc_path_pid(const char* s, uint32_t n);
// A deleted file's or memfd's data extents, listed for the writer (false: unreadable).
bool file_data_capture(amber::Capture& c, amber_fd& f);
// The lock: lines of c.info into f.data (amber_lock[]); how many lock: lines c.info has.
void locks_capture(amber::Capture& c, amber_fd& f);
uint32_t count_lock_lines(const char* info);
// F_SETOWN/F_SETOWN_EX and F_SETSIG of every descriptor: kept in the agent's own memory at
// checkpoint (so they come back with it) and set again by the agent after a restart, once the
// coordinator's pid map gives the owners' new pids.
void owners_begin();
void owner_capture(amber::Capture& c, const amber_fd& f);
// dnotify registrations (fd/dnotify.agent.cc): kept by the fcntl wrapper, checked at capture,
// made again by the agent after a restart (amber::dnotify_restarted, from fds_restarted).
void dnotify_note(int fd, unsigned long mask);
void dnotify_closed(int fd);
void dnotify_capture(amber::Capture& c, const amber_fd& f, const sys::kstat& st);
void dnotify_forked();
}  // namespace fd
namespace amber {
void dnotify_restarted();
// inotify events queued at a checkpoint, handed out again (fd/inotify.cc): the read wrapper
// (pid/signalfd.cc) asks replaying() then read(); the ioctl wrapper corrects FIONREAD.
namespace inotify {
bool replaying(int fd);
bool read(int fd, void* buf, size_t n, ssize_t (*next)(int, void*, size_t), ssize_t* out);
void fionread(int fd, int* n);
void closed(int fd);
void forked();
void restarted();
}  // namespace inotify
// fanotify marks by path and events queued at a checkpoint (fd/fanotify.cc): the same hooks as
// inotify's; mark() is fanotify_mark(2) for the wrappers (libc's name, syscall(2)), a raw result.
namespace fanotify {
long mark(int fd, unsigned flags, uint64_t mask, int dirfd, const char* path);
bool replaying(int fd);
bool read(int fd, void* buf, size_t n, ssize_t (*next)(int, void*, size_t), ssize_t* out);
void fionread(int fd, int* n);
void closed(int fd);
void forked();
void restarted();
}  // namespace fanotify
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
namespace rs {
struct Proc;
// "amber: warning: <image>: fd N (path) what (errno E)".
void warn_path(const amber_fd& f, const char* what, const char* path, long err);
// A removed directory made again at its old name (or beside it), opened, removed: lifted fd or -errno.
long remake_dir(const char* saved, uint32_t mode);
// After the fork (fds_forked): /proc/<pid> paths of the tree's processes, pidfds.
void files_forked(int me);
void pidfds_forked(int me);
// Locks: stage 1 test (refuses the restart), stage 3 take (after every close).
void locks_check(int img);
void locks_take(Proc& p);
}  // namespace rs
#endif

#endif
