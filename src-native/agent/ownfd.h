// The agent's own descriptor kept out of the program's way (agent/ownfd.cc). Agent only.
#ifndef AMBER_AGENT_OWNFD_H
#define AMBER_AGENT_OWNFD_H
#include <dirent.h>
namespace amber {
namespace ownfd {
long close(int fd);                                  // -EBADF for the agent's; 1: not ours
long close_range(unsigned first, unsigned last, int flags);  // the kernel's, skipping ours
long before_dup(int oldfd, int newfd);               // 0, or -errno (the dup must not happen)
bool hide(DIR* d, const char* name);                 // a readdir entry of our fd table to skip
}  // namespace ownfd
}  // namespace amber
#endif
