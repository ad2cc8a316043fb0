// The agent's own descriptor kept out of the program's way (agent/ownfd.cc). Agent only.
#ifndef AMBER_AGENT_OWNFD_H
#define AMBER_AGENT_OWNFD_H
#include <dirent.h>
namespace amber {
namespace ownfd {
long close(int fd);                                  // -EBADF for the agent's; 1: not ours
long close_range(unsigned first, unsigned last, int flags);  // the kernel's, skipping ours
long before_dup(int oldfd, int newfd);               // 0, or -errno (the dup must not happen)
// A readdir entry to skip: the agent's descriptor in our fd table, a checkpoint thread in a task
// list (ours or another process's). In our task list a kernel tid is written over with the
// program's (cap: the room the entry has for its name).
bool hide(DIR* d, char* name, size_t cap);
void dir_closed(DIR* d);                             // closedir: what hide() knew of d is dropped
void forked();                                       // in a forked child (its only thread)
// How many of process pid's threads are an agent's checkpoint thread (0 or 1; for our own process
// whether ours is alive): /proc/<pid>/status Threads: and stat's num_threads leave them out.
int ckpt_threads(int32_t pid);
}  // namespace ownfd
}  // namespace amber
#endif
