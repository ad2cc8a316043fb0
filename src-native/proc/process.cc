// Process-wide state (amber_process): the mm fields (code, data, brk, stack, argument and
// environment areas, auxv), personality, umask, resource limits, working directory, command line
// and executable (for the process name).
//
// Capture: /proc/self/stat (the mm fields), brk(0), /proc/self/auxv, the calls that read each
// setting. Restore (stage 3, after the memory is back): prctl(PR_SET_MM, PR_SET_MM_MAP) sets
// start_brk/brk/arg/env/auxv in one call and needs no capability (brk() cannot put a break back
// under a different layout, PITFALLS 5; the single-field PR_SET_MM_* calls need CAP_SYS_RESOURCE);
// the name (comm) as it was (from the executable's base name for images before 1.4); then the working directory (one that is gone
// leaves us where we are, as the shell does), umask, personality and limits (raising a hard
// limit needs privilege: what we have is kept).
#include <stddef.h>
#include <stdint.h>

#include "image/format.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "proc/rlimit.h"
#include "proc/seccomp.h"

namespace amber {
namespace {
// VmLck of /proc/self/status, in kB.
uint64_t vmlck_kb() {
  char st[4096];
  size_t n = sys::read_file("/proc/self/status", st, sizeof st - 1);
  st[n] = 0;
  uint64_t kb = 0;
  sys::status_value(st, "VmLck:", 10, &kb);
  return kb;
}

// mlockall(MCL_FUTURE) locks every mapping made later (the mm's default flags), which no /proc
// file shows: a probe page tells. Its mmap raises VmLck when MCL_FUTURE is in force, and mincore
// says whether it was populated at once or is left to be locked as it is touched (MCL_ONFAULT).
// Lost, the restored program's new memory would silently be pageable.
void mcl_future_capture(Capture& c) {
  uint64_t before = vmlck_kb();
  long m = sys::mmap(nullptr, 4096, 3 /*PROT_READ|PROT_WRITE*/, 0x22 /*MAP_PRIVATE|MAP_ANONYMOUS*/, -1, 0);
  if (m < 0 && m > -4096) return;
  if (vmlck_kb() > before) {
    c.ext->mm_state |= AMBER_MM_MCL_FUTURE;
    unsigned char in = 0;
    if (sys::sc3(27 /*mincore*/, m, 4096, (long)&in) == 0 && !(in & 1)) c.ext->mm_state |= AMBER_MM_MCL_ONFAULT;
  }
  sys::munmap(reinterpret_cast<void*>(m), 4096);
}
}  // namespace

// Seccomp filters stacked on this process (/proc/self/status "Seccomp_filters:"; 0 without it),
// or on the task whose status is `status`.
uint32_t seccomp_filters(char* buf, size_t cap, const char* status) {
  size_t n = sys::read_file(status, buf, cap - 1);
  buf[n] = 0;
  uint64_t v = 0;
  sys::status_value(buf, "Seccomp_filters:", 10, &v);
  return (uint32_t)v;
}

long process_capture(Capture& c, amber_process& pr) {
  memset(&pr, 0, sizeof pr);
  char* buf = c.tmp;
  // The program's seccomp filters: kept by the agent and installed again by each restored thread
  // (proc/seccomp.agent.cc); what cannot be is refused here by name. Filters inherited from
  // whoever launched us are the restart's too.
  if (long r = seccomp::check(c); r < 0) return r;
  size_t n = sys::read_file("/proc/thread-self/stat", buf, 4095);
  buf[n] = 0;
  const char* p = buf;
  for (const char* q = buf; *q; q++) if (*q == ')') p = q;  // comm may hold spaces and parens
  // p at ')' : fields from 3 on, space separated
  uint64_t f[64] = {};
  int idx = 2;
  p++;
  while (*p && idx < 60) {
    while (*p == ' ') p++;
    idx++;
    if (*p == '-') { p++; f[idx] = 0; while (*p && *p != ' ') p++; continue; }
    const char* q = p;
    f[idx] = sys::parse_u(&q, 10);
    while (*q && *q != ' ') q++;
    p = q;
  }
  pr.start_code = f[26]; pr.end_code = f[27]; pr.start_stack = f[28];
  pr.start_data = f[45]; pr.end_data = f[46]; pr.start_brk = f[47];
  pr.arg_start = f[48]; pr.arg_end = f[49]; pr.env_start = f[50]; pr.env_end = f[51];
  tree_capture(pr, f);
  pr.brk = (uint64_t)sys::brk(0);
  char* aux = reinterpret_cast<char*>(pr.auxv);
  n = sys::read_file("/proc/thread-self/auxv", aux, sizeof pr.auxv);
  pr.auxv_words = (uint32_t)(n / 8);
  // The main thread's personality (per thread: this checkpoint thread keeps the one it was made
  // with), as that thread read it in the suspend handler (thread/thread.cc).
  pr.personality = (uint32_t)sys::personality(0xffffffff);
  for (uint32_t i = 0; i < g.nslots; i++)
    if (g_slots[i].rec.flags & AMBER_THR_MAIN) pr.personality = g_slots[i].rec.personality;
  pr.proc_flags |= AMBER_PROC_EXT;
  n = sys::read_file("/proc/self/oom_score_adj", buf, 32);
  buf[n] = 0;
  {
    const char* q = buf;
    bool neg = *q == '-';
    if (neg) q++;
    c.ext->oom_score_adj = (int32_t)sys::parse_u(&q, 10) * (neg ? -1 : 1);
  }
  // Per mm: transparent huge pages refused (PR_SET_THP_DISABLE) and membarrier registrations
  // (a registered process may ask for expedited barriers; an unregistered one gets EPERM).
  c.ext->mm_state = AMBER_MM_VALID;
  if (sys::prctl(42 /*PR_GET_THP_DISABLE*/, 0, 0, 0, 0) == 1) c.ext->mm_state |= AMBER_MM_THP_DISABLE;
  // Memory-deny-write-execute (PR_SET_MDWE, a hardening that can never be undone): lost, the
  // restored program could make memory executable again without knowing it.
  mcl_future_capture(c);
  long mdwe = sys::prctl(66 /*PR_GET_MDWE*/, 0, 0, 0, 0);
  if (mdwe > 0 && (mdwe & 1 /*PR_MDWE_REFUSE_EXEC_GAIN*/)) {
    c.ext->mm_state |= AMBER_MM_MDWE;
    if (mdwe & 2 /*PR_MDWE_NO_INHERIT*/) c.ext->mm_state |= AMBER_MM_MDWE_NO_INHERIT;
  }
  long mb = sys::sc3(sys::NR_membarrier, 1 << 9 /*MEMBARRIER_CMD_GET_REGISTRATIONS*/, 0, 0);
  c.ext->membarrier = mb > 0 ? (uint32_t)mb : 0;
  int reaper = 0;
  if (sys::prctl(37 /*PR_GET_CHILD_SUBREAPER*/, (long)&reaper, 0, 0, 0) == 0 && reaper)
    pr.proc_flags |= AMBER_PROC_SUBREAPER;
  // The main thread had ended (pthread_exit, agent.cc do_suspend): no thread record is the main
  // one, and the restorer's main thread ends once it has made the others.
  {
    bool main = false;
    for (uint32_t i = 0; i < g.nslots; i++) main |= (g_slots[i].rec.flags & AMBER_THR_MAIN) != 0;
    if (!main) pr.proc_flags |= AMBER_PROC_MAIN_EXITED;
  }
  long um = sys::umask(022);
  sys::umask((int)um);
  pr.umask = (uint32_t)um;
  pr.suspend_signal = (uint32_t)g.sig;
  for (int i = 0; i < (int)AMBER_NRLIMIT; i++) {
    uint64_t v[2] = {~0ull, ~0ull};
    sys::prlimit(0, i, nullptr, v);
    if (i == 1 /*RLIMIT_FSIZE*/) rlim::app_limits(v);  // the program's, not the writer's
    pr.rlimits[i].cur = v[0];
    pr.rlimits[i].max = v[1];
  }
  n = sys::read_file("/proc/thread-self/cmdline", buf, 8192);
  pr.cmdline = c.str.add(buf, n ? n - 1 : 0);  // drop the final NUL; inner NULs separate args
  // This thread's (the checkpoint thread's): the main thread may have a cwd of its own
  // (unshare(CLONE_FS), listed in thread_fs like any other thread) or have ended (no fs at all).
  long l = sys::readlink("/proc/thread-self/cwd", buf, 4095);
  pr.cwd = c.str.add(buf, l > 0 ? (size_t)l : 0);
  // The program's, as it started (after a restart the kernel's link names the restorer).
  if (g.exe[0]) pr.exe = c.str.add(g.exe, sys::slen(g.exe));
  else {
    l = sys::readlink("/proc/thread-self/exe", buf, 4095);
    pr.exe = c.str.add(buf, l > 0 ? (size_t)l : 0);
  }
  // The main thread's name (a program may have chosen its own with prctl or pthread_setname_np;
  // PR_GET_NAME here would give this checkpoint thread's).
  n = sys::read_file("/proc/self/comm", buf, sizeof pr.comm);
  while (n && (buf[n - 1] == '\n' || n > sizeof pr.comm - 1)) n--;
  memcpy(pr.comm, buf, n);
  return 0;
}
}  // namespace amber
#endif

#ifdef AMBER_RESTORER
#include "fd/file.h"
#include "restore/restorer.h"

namespace rs {
namespace {
// A working directory removed while the process was in it: the same directory as a descriptor the
// process holds on it (remade already, fd/dir.cc), else made again the same way (under its old
// name, removed at once): getcwd fails with ENOENT and /proc/self/cwd says " (deleted)" as before.
void chdir_deleted(const char* cwd) {
  const amber_view& v = S.v;
  char path[4096];
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    if (f.kind != AMBER_FD_DIR || f.subkind != AMBER_FILE_DELETED) continue;
    str_of(v, f.path, path, sizeof path);
    if (sys::seq(path, cwd) && sys::sc1(sys::NR_fchdir, f.fd) == 0) return;
  }
  long fd = remake_dir(cwd, 0700);
  if (fd >= 0) {
    sys::sc1(sys::NR_fchdir, fd);
    sys::close((int)fd);
    return;
  }
  char msg[4200];
  sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": cannot make its removed working directory ").s(cwd).s(" again (errno ").i(-fd).s("); it stays in the restart's\n");
  sys::write_all(2, msg, sys::slen(msg));
}
}  // namespace

void process_restore_mm() {
  const amber_process& p = *S.v.proc;
  struct {
    uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
    uint64_t arg_start, arg_end, env_start, env_end;
    uint64_t auxv;
    uint32_t auxv_size, exe_fd;
  } m = {p.start_code, p.end_code, p.start_data, p.end_data, p.start_brk, p.brk, p.start_stack,
         p.arg_start, p.arg_end, p.env_start, p.env_end, (uint64_t)p.auxv, p.auxv_words * 8u, 0xffffffffu};
  long r = sys::prctl(35 /*PR_SET_MM*/, 14 /*PR_SET_MM_MAP*/, (long)&m, sizeof m, 0);
  if (r < 0) die(EXIT_SYSTEM, "prctl(PR_SET_MM_MAP) failed", nullptr, r);
  // The process name: the saved executable's base name (comm is what ps and top show).
  char exe[4096];
  str_of(S.v, p.exe, exe, sizeof exe);
  const char* base = exe;
  for (const char* q = exe; *q; q++) if (*q == '/') base = q + 1;
  char comm[16] = {};
  for (int k = 0; k < 15 && base[k]; k++) comm[k] = base[k];
  if (p.comm[0]) for (int k = 0; k < 16; k++) comm[k] = k < 15 ? p.comm[k] : 0;  // the saved name (1.4)
  sys::prctl(15 /*PR_SET_NAME*/, (long)comm, 0, 0, 0);
}

void process_restore_state() {
  const amber_process& p = *S.v.proc;
  char cwd[4096];
  str_of(S.v, p.cwd, cwd, sizeof cwd);
  if (cwd[0] && is_deleted(cwd)) chdir_deleted(cwd);
  else if (cwd[0] && sys::chdir(cwd) < 0) {
    // A cwd that is gone since leaves us where we are, as the shell does: said, not silent.
    char msg[4200];
    sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": its working directory ").s(cwd).s(" is gone; it stays in the restart's\n");
    sys::write_all(2, msg, sys::slen(msg));
  }
  sys::umask((int)p.umask);
  sys::personality(p.personality);
  if (p.proc_flags & AMBER_PROC_SUBREAPER) sys::prctl(36 /*PR_SET_CHILD_SUBREAPER*/, 1, 0, 0, 0);
  if (p.proc_flags & AMBER_PROC_EXT) {
    // Raising it needs no privilege; lowering it below what the restart runs with does (EACCES):
    // said, not silent.
    char v[16];
    sys::Out o(v, sizeof v);
    o.i(S.v.pext->oom_score_adj);
    long fd = sys::open("/proc/self/oom_score_adj", 01 /*O_WRONLY*/ | sys::O_CLOEXEC_);
    long r = fd < 0 ? fd : sys::write((int)fd, v, o.len);
    if (fd >= 0) sys::close((int)fd);
    if (r < 0) {
      char msg[1200];
      sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": cannot set oom_score_adj back to ").i(S.v.pext->oom_score_adj).s(" (errno ").i(-r).s(")\n");
      sys::write_all(2, msg, sys::slen(msg));
    }
  }
  if (S.v.pext->mm_state & AMBER_MM_VALID) {
    if (S.v.pext->mm_state & AMBER_MM_THP_DISABLE) sys::prctl(41 /*PR_SET_THP_DISABLE*/, 1, 0, 0, 0);
    // mlockall(MCL_FUTURE): once the regions are mapped (each locked or not as it was), so that
    // only what is mapped from now on is locked by it, as before the checkpoint.
    if (S.v.pext->mm_state & AMBER_MM_MCL_FUTURE) {
      long fl = 2 /*MCL_FUTURE*/ | ((S.v.pext->mm_state & AMBER_MM_MCL_ONFAULT) ? 4 /*MCL_ONFAULT*/ : 0);
      long r = sys::sc1(151 /*mlockall*/, fl);
      if (r < 0) {
        char msg[1200];
        sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": cannot lock future mappings again (mlockall MCL_FUTURE, errno ").i(-r).s(")\n");
        sys::write_all(2, msg, sys::slen(msg));
      }
    }
    // Memory-deny-write-execute: set once every region has its protection (this runs after
    // regions_map), so the restorer's own mappings are made before it refuses executable ones.
    if (S.v.pext->mm_state & AMBER_MM_MDWE) {
      long fl = 1 /*PR_MDWE_REFUSE_EXEC_GAIN*/ | ((S.v.pext->mm_state & AMBER_MM_MDWE_NO_INHERIT) ? 2 : 0);
      long r = sys::prctl(65 /*PR_SET_MDWE*/, fl, 0, 0, 0);
      if (r < 0) {
        char msg[1200];
        sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": cannot deny write-execute memory again (PR_SET_MDWE, errno ").i(-r).s(")\n");
        sys::write_all(2, msg, sys::slen(msg));
      }
    }
    // Each registration again (the mask's bits are the REGISTER commands themselves).
    for (uint32_t bit = 1; bit && bit <= S.v.pext->membarrier; bit <<= 1) {
      if (!(S.v.pext->membarrier & bit)) continue;
      long r = sys::sc3(sys::NR_membarrier, bit, 0, 0);
      if (r < 0) {
        char msg[1200];
        sys::Out(msg, sizeof msg).s("amber: warning: ").s(S.image).s(": cannot register for membarrier command ").i(bit).s(" again (errno ").i(-r).s(")\n");
        sys::write_all(2, msg, sys::slen(msg));
      }
    }
  }
  for (int i = 0; i < (int)AMBER_NRLIMIT; i++) {
    uint64_t v[2] = {p.rlimits[i].cur, p.rlimits[i].max};
    if (sys::prlimit(0, i, v, nullptr) < 0) {
      // Raising a hard limit needs privilege: keep the hard limit we have, and the soft one as
      // saved as far as it allows.
      uint64_t k[2];
      if (sys::prlimit(0, i, nullptr, k) < 0) continue;
      k[0] = p.rlimits[i].cur < k[1] ? p.rlimits[i].cur : k[1];
      if (p.rlimits[i].max < k[1]) k[1] = p.rlimits[i].max;
      sys::prlimit(0, i, k, nullptr);
    }
  }
}
}  // namespace rs
#endif
