// Seccomp filters the program installs (proc/seccomp.agent.cc). Agent only.
#ifndef AMBER_PROC_SECCOMP_H
#define AMBER_PROC_SECCOMP_H

#include <stdint.h>
#include <stddef.h>

namespace amber {
struct Capture;
namespace seccomp {
// agent_init, after g.seccomp0: filters handed over by the program we replaced (AMBER_SECCOMP_FD).
void init();
// The wrappers' half: prctl(PR_SET_SECCOMP, ...) and seccomp(2) (through syscall()).
long set_mode(unsigned op, unsigned flags, void* args);
// Suspend handler: which recorded chain this thread runs under (0 none, -1 unknown), kept on the
// thread's stack across a restart and noted for check().
int32_t thread_take(int32_t tid);
// Restored thread, just before the program's code runs again: its filters installed again.
void thread_restored(int32_t node);
// Checkpoint thread: at capture, refuses what cannot be installed again (fills c's error);
// at a restart's release, installs its own chain (a filter synchronised to every thread).
long check(Capture& c);
void ckpt_restored();
// exec: the calling thread's chain in a descriptor the new program's agent reads (-1: none). No
// global state written: runs in vfork children.
int exec_fd();
}  // namespace seccomp
}  // namespace amber

#endif
