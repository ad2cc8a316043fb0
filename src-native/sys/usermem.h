// Reading memory an application handed us, without faulting.
//
// A wrapper must behave like libc on any argument, an invalid pointer included: libc passes most
// pointers straight to the kernel, which answers EFAULT; a wrapper that dereferences one itself
// (to translate a /proc path, filter a signal set, add to an environment) would crash the program
// instead. process_vm_readv on our own pid copies what it can and reports a fault as EFAULT or a
// short count, never as a signal — one system call, no handler to install, safe in a signal
// handler and in a vfork child.
//
// The id is asked of the kernel on every call, not cached: a child forked by a raw clone (no
// atfork handler runs) would otherwise read its parent's memory. It is this thread's tid, not the
// pid: the kernel takes the memory of the task named, and a main thread that ended (pthread_exit,
// a zombie leader) has none: every copy would fail (ESRCH) and no /proc path be translated.
#ifndef AMBER_SYS_USERMEM_H
#define AMBER_SYS_USERMEM_H

#include "sys/sys.h"

namespace sys {

constexpr long NR_process_vm_readv = 310, NR_process_vm_writev = 311;
constexpr uint64_t kPage = 4096;

struct kiovec {
  const void* base;
  size_t len;
};

// A sandbox may forbid the call (a seccomp filter answering EPERM or ENOSYS): then we copy
// directly, trusting the pointer as we did before these probes, rather than stop translating.
static inline bool vm_forbidden(long r) { return r == -1 /*EPERM*/ || r == -38 /*ENOSYS*/; }

// Copies n bytes at src into dst. Returns the count copied (short at the first unreadable page)
// or -errno (-EFAULT when the first byte is unreadable).
static inline long vm_read(void* dst, const void* src, size_t n) {
  if (!n) return 0;
  kiovec l{dst, n}, r{src, n};
  long got = sc6(NR_process_vm_readv, gettid(), (long)&l, 1, (long)&r, 1, 0);
  if (vm_forbidden(got)) {
    __builtin_memcpy(dst, src, n);
    return (long)n;
  }
  return got;
}

// Copies n bytes from src to dst, dst being the application's: the count copied or -errno.
static inline long vm_write(void* dst, const void* src, size_t n) {
  if (!n) return 0;
  kiovec l{src, n}, r{dst, n};
  long put = sc6(NR_process_vm_writev, gettid(), (long)&l, 1, (long)&r, 1, 0);
  if (vm_forbidden(put)) {
    __builtin_memcpy(dst, src, n);
    return (long)n;
  }
  return put;
}

// True when all n bytes at p can be read.
static inline bool readable(const void* p, size_t n) {
  char buf[256];
  const char* s = static_cast<const char*>(p);
  while (n) {
    size_t k = n < sizeof buf ? n : sizeof buf;
    if (vm_read(buf, s, k) != (long)k) return false;
    s += k;
    n -= k;
  }
  return true;
}

// Copies the NUL-terminated string at src into dst (cap bytes, NUL included), a page at a time so
// that a string ending just before an unmapped page is read whole. Returns its length, -EFAULT if
// an unreadable byte comes before the NUL, -ENAMETOOLONG if there is no NUL within cap bytes.
static inline long copy_str(char* dst, const char* src, size_t cap) {
  size_t got = 0;
  while (got < cap) {
    uint64_t at = (uint64_t)(src + got);
    size_t k = (size_t)(kPage - (at & (kPage - 1)));
    if (k > cap - got) k = cap - got;
    long r = vm_read(dst + got, src + got, k);
    if (r <= 0) return -14 /*EFAULT*/;
    for (long i = 0; i < r; i++)
      if (!dst[got + (size_t)i]) return (long)(got + (size_t)i);
    if ((size_t)r < k) return -14;
    got += k;
  }
  return -36 /*ENAMETOOLONG*/;
}

// Remembers which pages were found readable, so that walking many small objects (an environment:
// a pointer array and its strings) costs one probe per page rather than one per object.
struct PageProbe {
  uint64_t ok[16] = {};
  unsigned n = 0;
  bool page(uint64_t pg) {
    for (unsigned i = 0; i < n && i < 16; i++)
      if (ok[i] == pg) return true;
    char c;
    if (vm_read(&c, (const void*)pg, 1) != 1) return false;
    ok[n++ % 16] = pg;
    return true;
  }
  // All of [p, p+len) readable?
  bool range(const void* p, size_t len) {
    if (!len) return true;
    uint64_t a = (uint64_t)p, end = a + len;
    if (end < a) return false;
    for (uint64_t pg = a & ~(kPage - 1); pg < end; pg += kPage)
      if (!page(pg)) return false;
    return true;
  }
  // The string at s readable up to and including its NUL?
  bool str(const char* s) {
    uint64_t a = (uint64_t)s;
    for (;;) {
      if (!page(a & ~(kPage - 1))) return false;
      uint64_t pg_end = (a & ~(kPage - 1)) + kPage;
      for (; a < pg_end; a++)
        if (!*(const char*)a) return true;
    }
  }
};

}  // namespace sys

#endif
