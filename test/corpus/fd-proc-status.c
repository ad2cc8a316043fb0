/* A descriptor open on /proc/self/status (read once): after restart it must describe this very
 * process: reading it again from offset 0 works, Name is ours, and its Pid, PPid and Threads lines
 * equal those of a fresh open of /proc/self/status (a stale descriptor would describe a dead
 * process and fail with ESRCH, or another process). */
#include "corpus.h"
#include <sys/prctl.h>

static void field(const char* text, const char* key, char* out, size_t cap) {
  size_t kl = strlen(key);
  for (const char* p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (!strncmp(p, key, kl) && p[kl] == ':') {
      p += kl + 1;
      while (*p == ' ' || *p == '\t') p++;
      size_t n = strcspn(p, "\n");
      snprintf(out, cap, "%.*s", (int)n, p);
      return;
    }
  }
  snprintf(out, cap, "(none)");
}

int main(void) {
  prctl(PR_SET_NAME, "corpus-status");
  int fd = SYS(open("/proc/self/status", O_RDONLY));
  char buf[8192];
  SYS(read(fd, buf, sizeof buf - 1));

  ready_wait();

  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  CHECK(n > 0, "reading the old /proc/self/status descriptor: %s", n < 0 ? strerror(errno) : "empty");
  buf[n] = 0;
  char fresh[8192];
  int f2 = SYS(open("/proc/self/status", O_RDONLY));
  ssize_t m = SYS(read(f2, fresh, sizeof fresh - 1));
  fresh[m] = 0;
  const char* keys[] = {"Name", "Pid", "PPid", "Tgid", "Threads"};
  for (int i = 0; i < 5; i++) {
    char a[64], b[64];
    field(buf, keys[i], a, sizeof a);
    field(fresh, keys[i], b, sizeof b);
    CHECK(!strcmp(a, b), "%s through the old descriptor is '%s', a fresh open says '%s'", keys[i], a, b);
  }
  char name[64];
  field(buf, "Name", name, sizeof name);
  CHECK(!strcmp(name, "corpus-status"), "Name is '%s', want corpus-status", name);
  pass();
}
