// The launcher's stdin/stdout/stderr: they follow identity, not descriptor number.
//
// `amber restart` runs in the foreground and the computation's stdio becomes its own (DESIGN).
// Which descriptors are "the computation's stdio" is decided by identity: the files `amber
// launch` gave the program it launched as descriptors 0-2 (or, after a restart, the files the
// restart gave it). A descriptor is the launcher's stdio j when it is the same file (device and
// inode) as that stdio j, whatever its number: a daemon whose stdout was redirected to its own
// log file keeps the log; a program that moved the launcher's stdout to descriptor 40 keeps
// writing to the launcher's (the restart's) stdout there; a child process's pipeline pipe stays
// the pipe.
//
// Agent half: the identities come from AMBER_STDIO (inherited and carried across exec), or, in
// the program amber launched (no AMBER_STDIO yet), from its own descriptors 0-2 before main; the
// capture marks each matching descriptor (AMBER_FD_STDIO in fd_flags) and the process record says
// the identities were known. After a restart the hand-off brings the restart's own identities.
//
// Restorer half: a marked descriptor gets the restart's stdio j at its number; descriptors 0-2 the
// process did not have are closed. Images written before format 1.4 keep the old rule: the root's
// 0-2, and a descendant's 0-2 or terminal still the root's, become the restart's by number.
//
// Identity is the file, not the open file description: two separate opens of /dev/null (or of the
// same log file) are one identity. A descriptor the program opened itself on the very file that
// was the launcher's stdio is taken for the launcher's.
#include "fd/stdio.h"

#include "sys/sys.h"

#ifdef AMBER_AGENT
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

namespace amber {

namespace {

struct Ids {
  uint64_t dev[3], ino[3];
  bool set[3];
  bool known;
};
Ids g_ids;
// "DDDDDDDDDDDDDDDD:IIIIIIIIIIIIIIII,..." in fixed-width hex: after a restart the new value is
// written over the old one in place (no setenv while application threads run), and it always fits.
constexpr size_t kEnvLen = 3 * 34;
char g_env[kEnvLen + 1];

void hex16(char* out, uint64_t v) {
  for (int k = 15; k >= 0; k--) {
    out[k] = "0123456789abcdef"[v & 15];
    v >>= 4;
  }
}

void format_env() {
  if (!g_ids.known) { g_env[0] = 0; return; }
  char* o = g_env;
  for (int j = 0; j < 3; j++) {
    hex16(o, g_ids.set[j] ? g_ids.dev[j] : 0);
    o[16] = ':';
    hex16(o + 17, g_ids.set[j] ? g_ids.ino[j] : 0);
    o[33] = j < 2 ? ',' : 0;
    o += 34;
  }
}

bool parse_hex(const char*& p, uint64_t* v) {
  uint64_t r = 0;
  int n = 0;
  for (; n < 16; n++, p++) {
    char ch = *p;
    int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0) break;
    r = r << 4 | (uint64_t)d;
  }
  *v = r;
  return n == 16;
}

bool parse_env(const char* s) {
  Ids ids{};
  const char* p = s;
  for (int j = 0; j < 3; j++) {
    uint64_t dev, ino;
    if (!parse_hex(p, &dev) || *p++ != ':' || !parse_hex(p, &ino)) return false;
    if (*p != (j < 2 ? ',' : 0)) return false;
    p++;
    ids.dev[j] = dev;
    ids.ino[j] = ino;
    ids.set[j] = dev || ino;
  }
  ids.known = true;
  g_ids = ids;
  return true;
}

}  // namespace

void stdio_init() {
  const char* e = getenv("AMBER_STDIO");
  if (e && parse_env(e)) { format_env(); return; }
  // The program amber launched: its descriptors 0-2 are, right now, the launcher's.
  for (int j = 0; j < 3; j++) {
    sys::kstat st{};
    g_ids.set[j] = sys::fstat(j, &st) == 0;
    g_ids.dev[j] = g_ids.set[j] ? st.st_dev : 0;
    g_ids.ino[j] = g_ids.set[j] ? st.st_ino : 0;
  }
  g_ids.known = true;
  format_env();
  // For programs we start through a raw execve that the exec wrappers do not see. Before main:
  // no other thread can be reading the environment.
  setenv("AMBER_STDIO", g_env, 1);
}

void stdio_adopt(const amber_handoff& h) {
  if (h.magic != AMBER_HANDOFF_MAGIC3) return;
  for (int j = 0; j < 3; j++) {
    g_ids.set[j] = h.stdio_set[j] != 0;
    g_ids.dev[j] = h.stdio_dev[j];
    g_ids.ino[j] = h.stdio_ino[j];
  }
  g_ids.known = true;
  format_env();
  patch_env("AMBER_STDIO", g_env);
}

int stdio_mark(const amber_fd& f) {
  if (!g_ids.known) return -1;
  // Its own number first: with a terminal as all three, descriptor 1 is the restart's stdout.
  if (f.fd >= 0 && f.fd <= 2 && g_ids.set[f.fd] && g_ids.dev[f.fd] == f.dev && g_ids.ino[f.fd] == f.inode) return f.fd;
  // A device that is not a terminal (/dev/null, /dev/zero) says nothing by its identity: a program
  // that opened /dev/null for writing while the launcher's stdin was /dev/null keeps its own (the
  // restart's stdin may not be writable). It is the launcher's only at its own number, above.
  if ((f.mode & 0170000) == 0020000 /*S_IFCHR*/) {
    uint8_t termios[64];
    if (sys::ioctl(f.fd, 0x5401 /*TCGETS*/, (long)termios) < 0) return -1;
  }
  for (int j = 0; j < 3; j++)
    if (g_ids.set[j] && g_ids.dev[j] == f.dev && g_ids.ino[j] == f.inode) return j;
  return -1;
}

bool stdio_known() { return g_ids.known; }
const char* stdio_env() { return g_env; }

}  // namespace amber
#endif  // AMBER_AGENT

#ifdef AMBER_RESTORER
#include "restore/restorer.h"

namespace rs {

namespace {
// The root's descriptors 0-2, for images written before format 1.4.
struct StdioId { uint64_t dev, inode; bool set; };
StdioId g_root[3];
// The restart's own stdio: lifted descriptors (-1: closed) and identities.
int g_fd[3] = {-1, -1, -1};
uint64_t g_dev[3], g_ino[3];
bool g_set[3];
// After the fork (stages 2 and 3 have only their own image, not the tree's tables): whether this
// process's image knows its stdio by identity; -1 before.
int g_me_known = -1;

bool known(int img) { return g_me_known >= 0 && img == T.me ? g_me_known > 0 : T.img[img].stdio_known; }

bool is_root_stdio(const amber_fd& f) {
  for (const StdioId& r : g_root)
    if (r.set && r.dev == f.dev && r.inode == f.inode) return true;
  return false;
}
}  // namespace

void stdio_index() {
  for (int k = 0; k < T.n; k++) T.img[k].stdio_known = (T.img[k].v.proc->proc_flags & AMBER_PROC_STDIO_KNOWN) != 0;
  const amber_view& r = T.img[0].v;
  for (uint32_t i = 0; i < r.nfds; i++)
    if (r.fds[i].fd >= 0 && r.fds[i].fd <= 2) g_root[r.fds[i].fd] = StdioId{r.fds[i].dev, r.fds[i].inode, true};
}

void stdio_lift() {
  for (int j = 0; j < 3; j++) {
    sys::kstat st{};
    g_set[j] = sys::fstat(j, &st) == 0;
    g_dev[j] = g_set[j] ? st.st_dev : 0;
    g_ino[j] = g_set[j] ? st.st_ino : 0;
    g_fd[j] = g_set[j] ? (int)sys::fcntl(j, sys::F_DUPFD_CLOEXEC_, T.maxfd + 1) : -1;
  }
}

int restart_stdio_index(const amber_fd& f, int img) {
  if (known(img)) {
    uint32_t m = (f.fd_flags & AMBER_FD_STDIO_MASK) >> AMBER_FD_STDIO_SHIFT;
    return m ? (int)m - 1 : -1;
  }
  // Before 1.4: the root's 0-2, a descendant's 0-2 when still the root's, and any terminal
  // descriptor to the root's terminal (bash's fd 255, an opened /dev/tty).
  if (f.fd >= 0 && f.fd <= 2 && (img == 0 || T.n <= 1 || is_root_stdio(f))) return f.fd;
  if (f.kind == AMBER_FD_CHR)
    for (int j = 0; j < 3; j++)
      if (g_root[j].set && g_root[j].dev == f.dev && g_root[j].inode == f.inode) return j;
  return -1;
}

void stdio_enter(bool stdio_known) { g_me_known = stdio_known ? 1 : 0; }
bool stdio_known_me() { return g_me_known > 0; }

int restart_stdio_fd(int j) { return j >= 0 && j < 3 ? g_fd[j] : -1; }

void stdio_handoff(amber_handoff* h) {
  if (h->magic != AMBER_HANDOFF_MAGIC3) return;
  for (int j = 0; j < 3; j++) {
    h->stdio_set[j] = g_set[j] ? 1 : 0;
    h->stdio_dev[j] = g_dev[j];
    h->stdio_ino[j] = g_ino[j];
  }
}

}  // namespace rs
#endif  // AMBER_RESTORER
