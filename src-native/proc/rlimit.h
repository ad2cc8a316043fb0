// RLIMIT_FSIZE kept out of the image writer's way (proc/rlimit.agent.cc). Agent only.
#ifndef AMBER_PROC_RLIMIT_H
#define AMBER_PROC_RLIMIT_H
#include <stdint.h>
namespace amber {
namespace rlim {
// prlimit(2) for the program, kpid a kernel pid (0: self): RLIMIT_FSIZE of this process with its
// virtual hard limit, anything else passed through. Returns 0 or -errno.
long prlimit(long kpid, int res, const void* nl, void* ol);
void init();                      // agent constructor: AMBER_FSIZE_MAX from an exec
bool virtual_max(uint64_t* v);    // for exec: the program's hard limit, when virtual
void raise_for_write();           // checkpoint thread, around write_image
void after_write(bool efbig);
bool app_limits(uint64_t v[2]);   // while raised: the limits to record (the program's soft)
}  // namespace rlim
}  // namespace amber
#endif
