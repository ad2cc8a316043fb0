// Signal dispositions (amber_process.sigactions: the kernel's struct sigaction for signals 1-64,
// handler, flags, restorer, mask). The per-thread blocked masks and alternate stacks travel with
// the threads (thread/thread.cc). Signals pending for the whole process (sent while blocked: a
// program waiting for them with sigwaitinfo or a signalfd) are pending again after a restart.
//
// Capture: rt_sigaction(sig, NULL, &old) for every signal but SIGKILL and SIGSTOP. The agent's own
// suspend signal is one of them: its handler is the agent's, in the saved memory, so it comes back
// as it was. Restore (stage 3, after the memory is back, so the handler addresses are valid
// again): rt_sigaction for each; then every process-wide pending signal (ShdPnd of
// /proc/self/status) is queued again to the process, by its main thread (the only one allowed to
// give a signal its sender): sent by the process itself (SI_USER, its app pid, its uid). What is
// lost: the original sender, how many times a real-time signal was queued, its value, and signals
// pending for one thread only.
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
  char st[4096];
  size_t n = sys::read_file("/proc/self/status", st, sizeof st - 1);
  st[n] = 0;
  for (const char* p = st; *p;) {
    if (sys::sstarts(p, "ShdPnd:")) {
      p += 7;
      while (*p == ' ' || *p == '\t') p++;
      pr.pending_signals = sys::parse_u(&p, 16);
      break;
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
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
  // Pending again (every signal is blocked here: they wait for a thread that unblocks them).
  for (int s = 1; s < (int)AMBER_NSIG; s++) {
    if (!(p.pending_signals & (1ull << (s - 1))) || s == 9 || s == 19 || s == (int)p.suspend_signal) continue;
    struct { int32_t signo, err, code, pad; int32_t pid; uint32_t uid; uint8_t rest[104]; } info{};
    info.signo = s;
    info.code = 0;  // SI_USER
    info.pid = p.app_pid ? p.app_pid : (int32_t)sys::getpid();
    info.uid = (uint32_t)sys::sc0(102 /*getuid*/);
    sys::sc3(129 /*rt_sigqueueinfo*/, sys::getpid(), s, (long)&info);
  }
}
}  // namespace rs
#endif
