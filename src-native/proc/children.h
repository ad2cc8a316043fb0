// The threads of a process and the children of this one (agent side): /proc/<pid>/task, and every
// thread's /proc/self/task/T/children, kernel pids. Used by what captures state about them (proc/zombie.cc: unreaped ones; proc/tree.cc:
// ones that share our descriptor table or memory; proc/stopped.agent.cc: stopped ones).
#ifndef AMBER_PROC_CHILDREN_H
#define AMBER_PROC_CHILDREN_H
#ifdef AMBER_AGENT
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/sys.h"

namespace amber {
// fn(tid) for each thread of process pid (0: our own), from /proc/<pid>/task; fn returns false to
// stop. dents: 1 KiB or more for the directory. Returns false when the list cannot be read (the
// process is gone).
template <class F>
bool each_thread(int32_t pid, char* dents, size_t dcap, F&& fn) {
  char path[48];
  sys::Out o(path, sizeof path);
  if (pid) o.s("/proc/").i(pid).s("/task");
  else o.s("/proc/self/task");
  long dfd = sys::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  bool go = true;
  while (go) {
    long r = sys::getdents64((int)dfd, dents, dcap);
    if (r <= 0) break;
    for (long off = 0; off < r && go;) {
      const char* rec = dents + off;
      off += *reinterpret_cast<const uint16_t*>(rec + 16);
      const char* q = rec + 19;
      if (*q < '0' || *q > '9') continue;
      uint64_t tid = sys::parse_u(&q, 10);
      if (!*q && tid <= 0x7fffffff) go = fn((int32_t)tid);
    }
  }
  sys::close((int)dfd);
  return true;
}

// fn(pid) for each child; fn returns false to stop. buf: scratch for one thread's list (cap
// bytes); dents: 1 KiB or more for the directory. Returns false when /proc/self/task cannot be read.
template <class F>
bool each_child(char* buf, size_t cap, char* dents, size_t dcap, F&& fn) {
  bool go = true;
  return each_thread(0, dents, dcap, [&](int32_t tid) {
    char path[64];
    sys::Out o(path, sizeof path);
    o.s("/proc/self/task/").i(tid).s("/children");
    size_t len = sys::read_file(path, buf, cap - 1);
    buf[len] = 0;
    for (const char* p = buf; *p && go;) {
      while (*p == ' ' || *p == '\n') p++;
      if (*p < '0' || *p > '9') break;
      go = fn((int32_t)sys::parse_u(&p, 10));
    }
    return go;
  });
}
// Reads /proc/<pid>/stat into buf (1024 bytes) and says whether the process is a zombie (state Z);
// *ppid, when asked, gets its parent's pid. buf keeps the line for the caller's other fields.
inline bool stat_zombie(int32_t pid, char* buf, int64_t* ppid = nullptr) {
  char path[48];
  sys::Out o(path, sizeof path);
  o.s("/proc/").i(pid).s("/stat");
  path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
  size_t n = sys::read_file(path, buf, 1023);
  buf[n] = 0;
  const char* rp = nullptr;  // the last ')': a command name may hold one
  for (const char* q = buf; *q; q++) if (*q == ')') rp = q;
  if (!rp || rp[1] != ' ' || rp[2] != 'Z' || rp[3] != ' ') return false;
  if (ppid) {
    const char* q = rp + 4;
    *ppid = (int64_t)sys::parse_u(&q, 10);
  }
  return true;
}
}  // namespace amber
#endif  // AMBER_AGENT
#endif
