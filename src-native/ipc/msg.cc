// SysV message queues and semaphore sets by id (msgget, semget). The objects outlive the
// processes (until IPC_RMID), so a restart on the same system finds them with their messages and
// values; what it cannot do is make one again under its id (the kernel chooses ids). So the
// agent notes the ids the process got (wrappers of msgget and semget; a forked child inherits
// the list with the agent's memory), the capture keeps those that still exist, and stage 1 of
// the restart refuses, naming it, an image whose queue or set is gone — never a program that
// finds its id invalid after the restart.
#include "image/format.h"

#ifdef AMBER_AGENT
#include <errno.h>
#include <sys/msg.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "pid/pid.h"

namespace amber {
namespace {
constexpr long NR_semget = 64, NR_semctl = 66, NR_msgget = 68, NR_msgctl = 71;
constexpr int kMaxIds = 256;
amber_sysv_id g_ids[kMaxIds];
uint32_t g_nids;
int g_idlock;

void note(int32_t id, uint32_t kind) {
  while (__atomic_exchange_n(&g_idlock, 1, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
  bool have = false;
  for (uint32_t k = 0; k < g_nids && !have; k++) have = g_ids[k].id == id && g_ids[k].kind == kind;
  if (!have && g_nids < kMaxIds) g_ids[g_nids++] = amber_sysv_id{id, kind};
  __atomic_store_n(&g_idlock, 0, __ATOMIC_RELEASE);
}

bool exists(const amber_sysv_id& x) {
  char buf[256];
  long e = x.kind == 1 ? sys::sc3(NR_msgctl, x.id, 2 /*IPC_STAT*/, (long)buf) : sys::sc4(NR_semctl, x.id, 0, 2, (long)buf);
  return e >= 0 || e == -EACCES;  // (there, if not ours to read)
}
}  // namespace

long sysv_ids_capture(Capture& c) {
  c.ext->sysv_ids = amber_str{0, 0};
  uint32_t at = c.str.len, n = 0;
  for (uint32_t k = 0; k < g_nids; k++) {
    if (!exists(g_ids[k])) continue;  // removed since: nothing to keep
    c.str.append(&g_ids[k], sizeof g_ids[k]);
    n++;
  }
  if (c.str.full) return c.fail(-E2BIG, "the image's string space is full (SysV ids)");
  if (n) c.ext->sysv_ids = amber_str{at, (uint32_t)(n * sizeof(amber_sysv_id))};
  return 0;
}
}  // namespace amber

extern "C" {
__attribute__((visibility("default"))) int msgget(int key, int flags) {
  long r = sys::sc2(amber::NR_msgget, key, flags);
  if (r < 0) { errno = (int)-r; return -1; }
  amber::note((int32_t)r, 1);
  return (int)r;
}
// The queue's last sender and receiver are kernel pids: after a restart not the ones the program
// knows (getpid, fork). IPC_STAT, MSG_STAT (11) and MSG_STAT_ANY (13) give them back translated;
// the kernel wrote the struct, so it is the program's and writable. The same call as glibc's (a
// plain system call on x86-64, no IPC_64 flag).
__attribute__((visibility("default"))) int msgctl(int id, int cmd, struct msqid_ds* buf) {
  long r = sys::sc3(amber::NR_msgctl, id, cmd, (long)buf);
  if (r < 0) { errno = (int)-r; return -1; }
  if (cmd == IPC_STAT || cmd == 11 || cmd == 13) {
    buf->msg_lspid = amber::pid::to_app(buf->msg_lspid);
    buf->msg_lrpid = amber::pid::to_app(buf->msg_lrpid);
  }
  return (int)r;
}
__attribute__((visibility("default"))) int semget(int key, int nsems, int flags) {
  long r = sys::sc3(amber::NR_semget, key, nsems, flags);
  if (r < 0) { errno = (int)-r; return -1; }
  amber::note((int32_t)r, 2);
  return (int)r;
}
}  // extern "C"
#endif  // AMBER_AGENT

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {
// Stage 1: every queue and set the process uses is still there.
void sysv_ids_check() {
  const char* d;
  uint32_t len;
  if (!S.v.pext->sysv_ids.len || !amber_str_at(&S.v, S.v.pext->sysv_ids, &d, &len)) return;
  for (uint32_t i = 0; i + sizeof(amber_sysv_id) <= len; i += sizeof(amber_sysv_id)) {
    amber_sysv_id x;
    memcpy(&x, d + i, sizeof x);
    char buf[256];
    long e = x.kind == 1 ? sys::sc3(71 /*msgctl*/, x.id, 2 /*IPC_STAT*/, (long)buf) : sys::sc4(66 /*semctl*/, x.id, 0, 2, (long)buf);
    if (e >= 0 || e == -13 /*EACCES: there*/) continue;
    char what[48];
    sys::Out(what, sizeof what).s("(id ").i(x.id).s(")");
    die(EXIT_HOST,
        x.kind == 1 ? "a SysV message queue the process uses is gone: a new one would get another id"
                    : "a SysV semaphore set the process uses is gone: a new one would get another id",
        what, e);
  }
}
}  // namespace rs
#endif  // AMBER_RESTORER
