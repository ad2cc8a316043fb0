/* Shared by the fd-fanotify-* corpus programs: the fanotify lines of a descriptor's fdinfo (the
 * instance's flags and every mark with its masks, mark flags and file handle), to compare before
 * the checkpoint with after the restart. */
#ifndef CORPUS_FANOTIFY_H
#define CORPUS_FANOTIFY_H
#include <sys/fanotify.h>

static inline void fan_info(int fd, char* out, size_t cap) {
  char p[64], b[8192];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  int f = open(p, O_RDONLY | O_CLOEXEC);
  ssize_t n = f >= 0 ? read(f, b, sizeof b - 1) : -1;
  if (f >= 0) close(f);
  b[n > 0 ? n : 0] = 0;
  size_t o = 0;
  out[0] = 0;
  for (char* l = strtok(b, "\n"); l; l = strtok(NULL, "\n"))
    if (!strncmp(l, "fanotify ", 9)) o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s; ", l);
}

/* The number of marks in an fdinfo text from fan_info. */
static inline int fan_marks(const char* info) {
  int n = 0;
  for (const char* p = info; (p = strstr(p, "fanotify ")); p++)
    if (strncmp(p, "fanotify flags:", 15)) n++;
  return n;
}
#endif
