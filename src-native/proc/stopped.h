// Stopped children through a checkpoint (proc/stopped.agent.cc). Agent only.
#ifndef AMBER_PROC_STOPPED_H
#define AMBER_PROC_STOPPED_H
#include <signal.h>
namespace amber {
namespace stopped {
bool park_request(const siginfo_t* si);
void drop_own_park();                    // checkpoint thread: the park request our parent sent it  // our suspend signal, queued by a parent: "park"
void continue_children();                // parent, every thread parked: continue stopped children
void absorb();                           // parent, at resume: what continuing them showed
}  // namespace stopped
}  // namespace amber
#endif
