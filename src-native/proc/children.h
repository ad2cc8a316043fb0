// The children of this process (agent side): every thread's /proc/self/task/T/children, kernel
// pids. Used by what captures state about them (proc/zombie.cc: unreaped ones; proc/tree.cc:
// ones that share our descriptor table or memory; proc/stopped.agent.cc: stopped ones).
#ifndef AMBER_PROC_CHILDREN_H
#define AMBER_PROC_CHILDREN_H
#ifdef AMBER_AGENT
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/sys.h"

namespace amber {
// fn(pid) for each child; fn returns false to stop. buf: scratch for one thread's list (cap
// bytes); dents: 4 KiB or more for the directory. Returns false when /proc/self/task cannot be read.
template <class F>
bool each_child(char* buf, size_t cap, char* dents, size_t dcap, F&& fn) {
  long dfd = sys::open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  bool go = true;
  while (go) {
    long r = sys::getdents64((int)dfd, dents, dcap);
    if (r <= 0) break;
    for (long off = 0; off < r && go;) {
      const char* rec = dents + off;
      off += *reinterpret_cast<const uint16_t*>(rec + 16);
      const char* name = rec + 19;
      if (name[0] < '0' || name[0] > '9') continue;
      char path[64];
      sys::Out o(path, sizeof path);
      o.s("/proc/self/task/").s(name).s("/children");
      path[o.len < sizeof path ? o.len : sizeof path - 1] = 0;
      size_t len = sys::read_file(path, buf, cap - 1);
      buf[len] = 0;
      for (const char* p = buf; *p && go;) {
        while (*p == ' ' || *p == '\n') p++;
        if (*p < '0' || *p > '9') break;
        go = fn((int32_t)sys::parse_u(&p, 10));
      }
    }
  }
  sys::close((int)dfd);
  return true;
}
}  // namespace amber
#endif  // AMBER_AGENT
#endif
