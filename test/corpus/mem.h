/* Memory helpers for the corpus: what /proc/self/maps and smaps say about an address, and
 * whether touching an address faults (tested in a child, so the program survives). */
#ifndef CORPUS_MEM_H
#define CORPUS_MEM_H
#include "corpus.h"
#include <sys/mman.h>

/* The maps line covering addr: its range and permissions ("rw-p"); 0 when found. */
static inline int map_of(const void* addr, uintptr_t* lo, uintptr_t* hi, char perms[5], char* path, size_t pcap) {
  FILE* f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  char line[512];
  int rc = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    char p[5];
    int off = 0;
    if (sscanf(line, "%lx-%lx %4s %*s %*s %*s%n", &a, &b, p, &off) < 3) continue;
    if ((uintptr_t)addr >= a && (uintptr_t)addr < b) {
      *lo = a;
      *hi = b;
      memcpy(perms, p, 5);
      if (path) {
        char* s = line + off;
        while (*s == ' ') s++;
        size_t n = strcspn(s, "\n");
        if (n >= pcap) n = pcap - 1;
        memcpy(path, s, n);
        path[n] = 0;
      }
      rc = 0;
      break;
    }
  }
  fclose(f);
  return rc;
}

/* The VmFlags of the smaps entry covering addr ("rd wr mr mw me ac dc"); 0 when found. */
static inline int vmflags_of(const void* addr, char* out, size_t cap) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (!f) return -1;
  char line[512];
  int in = 0, rc = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      in = (uintptr_t)addr >= a && (uintptr_t)addr < b;
      continue;
    }
    if (in && !strncmp(line, "VmFlags:", 8)) {
      char* s = line + 8;
      while (*s == ' ') s++;
      size_t n = strcspn(s, "\n");
      if (n >= cap) n = cap - 1;
      memcpy(out, s, n);
      out[n] = 0;
      rc = 0;
      break;
    }
  }
  fclose(f);
  return rc;
}

/* Whether the smaps VmFlags of addr contain the two-letter flag. */
static inline int has_vmflag(const void* addr, const char* flag) {
  char v[256];
  if (vmflags_of(addr, v, sizeof v)) return -1;
  for (char* s = v; *s; s += strspn(s, " ")) {
    if (!strncmp(s, flag, 2) && (s[2] == ' ' || s[2] == 0)) return 1;
    s += strcspn(s, " ");
  }
  return 0;
}

/* Touch addr (read, or write when w) in a child: 1 when it faults with SIGSEGV/SIGBUS. */
static inline int faults(volatile char* addr, int w) {
  pid_t p = fork();
  if (p < 0) fail("fork: %s", strerror(errno));
  if (p == 0) {
    if (w) *addr = 1;
    else { volatile char c = *addr; (void)c; }
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  return WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS);
}
#endif
