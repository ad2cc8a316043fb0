// The launcher's stdin/stdout/stderr, followed by identity (fd/stdio.cc).
#ifndef AMBER_FD_STDIO_H
#define AMBER_FD_STDIO_H

#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
namespace amber {
// Before main: the identities from AMBER_STDIO, or (the program amber launched) from our own
// descriptors 0-2, which are by definition the launcher's.
void stdio_init();
// On the restart path: the restart's own stdio is the launcher's from now on.
void stdio_adopt(const amber_handoff& h);
// j (0-2) when this descriptor is the launcher's stdio j, else -1.
int stdio_mark(const amber_fd& f);
// Whether the identities are known (the image then says so: AMBER_PROC_STDIO_KNOWN).
bool stdio_known();
// The AMBER_STDIO value for a program we exec ("" when unknown).
const char* stdio_env();
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
namespace rs {
// Before the tree index: which images record the launcher's stdio by identity, and the root's
// descriptors 0-2 for those that do not (written before format 1.4).
void stdio_index();
// After every kind prepared its objects: the restart's own stdio, lifted above every saved number
// (the restored descriptors take 0-2 as the image says), and its identities for the hand-off.
void stdio_lift();
// Which of the restart's stdio descriptors stands in for saved descriptor f of image img: 0-2,
// or -1 when it is restored as any other descriptor.
int restart_stdio_index(const amber_fd& f, int img);
// After the fork, before the tree's tables are left behind: this process's image says (or not)
// which descriptors are the launcher's stdio.
void stdio_enter(bool stdio_known);
bool stdio_known_me();
// The restart's stdio descriptor j (lifted), or -1 when the restart had it closed.
int restart_stdio_fd(int j);
// Fills the hand-off's v3 fields (the restart's stdio identities) when the agent has them.
void stdio_handoff(amber_handoff* h);
}  // namespace rs
#endif

#endif
