// The restorer's small common ground (restore/restorer.h): the freestanding C runtime, messages,
// run-time memory and string helpers.
#include "restore/restorer.h"

extern "C" {
// Freestanding C runtime pieces the compiler may call.
void* memcpy(void* d, const void* s, size_t n) {
  char* a = static_cast<char*>(d);
  const char* b = static_cast<const char*>(s);
  if (n >= 8 && !(((uintptr_t)a | (uintptr_t)b) & 7)) {
    for (; n >= 8; n -= 8, a += 8, b += 8) *reinterpret_cast<uint64_t*>(a) = *reinterpret_cast<const uint64_t*>(b);
  }
  while (n--) *a++ = *b++;
  return d;
}
void* memmove(void* d, const void* s, size_t n) {
  char* a = static_cast<char*>(d);
  const char* b = static_cast<const char*>(s);
  if (a < b) { while (n--) *a++ = *b++; }
  else { while (n--) a[n] = b[n]; }
  return d;
}
void* memset(void* d, int c, size_t n) {
  unsigned char* a = static_cast<unsigned char*>(d);
  while (n--) *a++ = (unsigned char)c;
  return d;
}
int memcmp(const void* x, const void* y, size_t n) {
  const unsigned char* a = static_cast<const unsigned char*>(x);
  const unsigned char* b = static_cast<const unsigned char*>(y);
  for (size_t i = 0; i < n; i++) if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}
}

namespace rs {

Tree T;
State S;

void put(const char* s) { sys::write_all(2, s, sys::slen(s)); }

[[noreturn]] void die(int code, const char* what, const char* detail, long err, uint64_t offset) {
  char buf[1600];
  sys::Out o(buf, sizeof buf);
  o.s("amber: ").s(S.image[0] ? S.image : "amber-restart").s(": ").s(what);
  if (detail) o.s(" ").s(detail);
  if (err) o.s(" (errno ").i(-err).s(")");
  if (offset != ~0ull) o.s(" at offset ").u(offset);
  o.c('\n');
  sys::write_all(2, buf, o.len);
  sys::exit_group(code);
}

[[noreturn]] void die_img(const amber_err& e) { die(EXIT_IMAGE, e.what, nullptr, 0, e.offset); }

void warn_fd(const char* what, const amber_fd& f, long err, const char* then) {
  char buf[240];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: fd ").i(f.fd).s(": ").s(what).s(" (errno ").i(-err).s("); ").s(then).c('\n');
  sys::write_all(2, buf, o.len);
}

// Image img's file, to read saved bytes from before the fork (the tree closes its images after
// stage 1: each process opens its own again after the fork). The very inode stage 1 checked.
int image_fd(int img) {
  Img& im = T.img[img];
  if (im.imgfd >= 0) return im.imgfd;
  long fd = sys::open(im.path, sys::O_RDONLY_ | sys::O_CLOEXEC_ | 0400000 /*O_NOFOLLOW*/ | 04000 /*O_NONBLOCK*/);
  sys::kstat st{};
  if (fd < 0 || sys::fstat((int)fd, &st) < 0 || st.st_dev != im.dev || st.st_ino != im.ino ||
      (uint64_t)st.st_size != im.file_size) {
    sys::Out(S.image, sizeof S.image).s(im.path);
    die(EXIT_IMAGE, "image changed during the restart");
  }
  im.imgfd = (int)lift(fd);
  return im.imgfd;
}

void images_close() {
  for (int k = 0; k < T.n; k++)
    if (T.img[k].imgfd >= 0) { sys::close(T.img[k].imgfd); T.img[k].imgfd = -1; }
}

// Only before stage 2 (it reads the tree, which stage 3 no longer has).
void warn_me(const char* what, long err) {
  char buf[300];
  sys::Out o(buf, sizeof buf);
  o.s("amber: warning: process ").i(T.img[T.me].ses.app_pid).s(": ").s(what);
  if (err) o.s(" (errno ").i(-err).s(")");
  o.c('\n');
  sys::write_all(2, buf, o.len);
}

// A bump allocator over anonymous mappings (few, large, NORESERVE: untouched pages cost nothing).
void* alloc(uint64_t bytes) {
  static char* at;
  static uint64_t left;
  bytes = (bytes + 15) & ~15ull;
  if (bytes > left) {
    uint64_t len = bytes > (64ull << 20) ? (bytes + kPage - 1) & ~(kPage - 1) : (64ull << 20);
    long m = sys::mmap(nullptr, len, sys::PROT_R_ | sys::PROT_W_, sys::MAP_PRIVATE_ | sys::MAP_ANON_ | sys::MAP_NORESERVE_, -1, 0);
    if (m < 0) die(EXIT_SYSTEM, "out of memory", nullptr, m);
    at = reinterpret_cast<char*>(m);
    left = len;
  }
  void* p = at;
  at += bytes;
  left -= bytes;
  return p;
}

const char* str_of(const amber_view& v, amber_str s, char* buf, size_t cap) {
  const char* p;
  uint32_t len;
  if (!amber_str_at(&v, s, &p, &len) || len >= cap) { buf[0] = 0; return buf; }
  memcpy(buf, p, len);
  buf[len] = 0;
  return buf;
}

bool is_deleted(const char* path) {
  size_t n = sys::slen(path);
  return n > 10 && sys::seq(path + n - 10, " (deleted)");
}

bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

}  // namespace rs
