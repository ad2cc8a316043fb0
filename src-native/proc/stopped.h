// Stopped children through a checkpoint (proc/stopped.agent.cc). Agent only.
#ifndef AMBER_PROC_STOPPED_H
#define AMBER_PROC_STOPPED_H
#include <signal.h>
namespace amber {
namespace stopped {
uint32_t park_generation(const siginfo_t* si);  // the checkpoint a park request is for, or 0
void drop_own_park();                    // checkpoint thread: the park request our parent sent it
void continue_children();                // parent, every thread parked: continue stopped children
void absorb();                           // parent, at resume: what continuing them showed
uint32_t continued();                    // how many children continue_children continued
}  // namespace stopped
}  // namespace amber
#endif
