// Signal dispositions (amber_process.sigactions: the kernel's struct sigaction for signals 1-64,
// handler, flags, restorer, mask). The per-thread blocked masks and alternate stacks travel with
// the threads (thread/thread.cc); pending signals are recorded for information only.
//
// Capture: rt_sigaction(sig, NULL, &old) for every signal but SIGKILL and SIGSTOP. The agent's own
// suspend signal is one of them: its handler is the agent's, in the saved memory, so it comes back
// as it was. Restore (stage 3, after the memory is back, so the handler addresses are valid
// again): rt_sigaction for each.
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include "agent/capture.h"

namespace amber {
void signals_capture(amber_process& pr) {
  for (int s = 1; s < (int)AMBER_NSIG; s++) {
    if (s == 9 || s == 19) continue;
    sys::ksigaction ka{};
    if (sys::rt_sigaction(s, nullptr, &ka) == 0) {
      pr.sigactions[s].handler = ka.handler;
      pr.sigactions[s].flags = ka.flags;
      pr.sigactions[s].restorer = ka.restorer;
      pr.sigactions[s].mask = ka.mask;
    }
  }
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
void signals_restore() {
  const amber_process& p = *S.v.proc;
  for (int s = 1; s < (int)AMBER_NSIG; s++) {
    if (s == 9 || s == 19) continue;
    sys::ksigaction ka{p.sigactions[s].handler, p.sigactions[s].flags, p.sigactions[s].restorer, p.sigactions[s].mask};
    sys::rt_sigaction(s, &ka, nullptr);
  }
}
}  // namespace rs
#endif
