// readSeal(path): what binds an image to its generation (issue 12), read cheaply right after an
// agent reports it written: the header page (checked: magic, version, header checksum, layout) and
// the trailer (magic, file size). The coordinator records these values in the manifest; restart
// and `inspect --verify` compare them with the fully validated image (reader.cc).
//
//   readSeal(path) -> { vpid, generation, generationId?, programXxh?, imageXxh, fileSize, uid, mode }
//
// The open never follows a symbolic link and never blocks (O_NOFOLLOW | O_NONBLOCK); only a regular
// file is read. Errors are JS Errors with `code` (an errno name, or ENOTIMAGE/ETRUNCATED/EVERSION/
// EBADIMAGE/ECHECKSUM) and `path`, their message naming the file.
#include <napi.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "image/reader.h"  // amberCodeName; validate.h

namespace amber_addon {

namespace {

std::string hex16(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string hexId(const uint8_t* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; i++) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

[[noreturn]] void fail(Napi::Env env, const std::string& path, const char* code, int err, const std::string& what) {
  Napi::Error e = Napi::Error::New(env, path + ": " + what);
  e.Set("code", Napi::String::New(env, code));
  e.Set("path", Napi::String::New(env, path));
  if (err) e.Set("errno", Napi::Number::New(env, err));
  throw e;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool readAll(int fd, void* buf, size_t len, off_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, static_cast<char*>(buf) + done, len - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

Napi::Value ReadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "readSeal(path): path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
  if (f.fd < 0) {
    const int e = errno;
    if (e == ELOOP) fail(env, path, "ELOOP", e, "is a symbolic link: refusing it (amber follows no link it did not make)");
    const char* name = strerrorname_np(e);
    fail(env, path, name ? name : "EIO", e, std::string("cannot open: ") + std::strerror(e));
  }
  struct stat st;
  if (::fstat(f.fd, &st) != 0) {
    const int e = errno;
    fail(env, path, "EIO", e, std::string("cannot stat: ") + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) fail(env, path, "ENOTIMAGE", 0, "not a regular file: refusing it");
  const uint64_t size = static_cast<uint64_t>(st.st_size);

  alignas(8) unsigned char page[AMBER_HEADER_SIZE];
  std::memset(page, 0, sizeof page);
  (void)readAll(f.fd, page, static_cast<size_t>(size < AMBER_HEADER_SIZE ? size : AMBER_HEADER_SIZE), 0);
  amber_err err{};
  if (!amber_check_header(page, size, &err))
    fail(env, path, amber::amberCodeName(err.code), 0, std::string(err.what) + " at offset " + std::to_string(err.offset));
  amber_header h;
  std::memcpy(&h, page, sizeof h);
  amber_trailer t;
  if (!readAll(f.fd, &t, sizeof t, static_cast<off_t>(h.file_size - AMBER_TRAILER_SIZE)) ||
      std::memcmp(t.magic, AMBER_TRAILER_MAGIC, 8) != 0 || t.file_size != h.file_size)
    fail(env, path, "ETRUNCATED", 0, "trailer missing (image incomplete) at offset " + std::to_string(h.file_size - AMBER_TRAILER_SIZE));

  Napi::Object o = Napi::Object::New(env);
  o.Set("vpid", Napi::Number::New(env, h.vpid));
  o.Set("generation", Napi::Number::New(env, h.generation));
  if (h.minor >= 4) {
    o.Set("generationId", Napi::String::New(env, hexId(h.generation_id, sizeof h.generation_id)));
    o.Set("programXxh", Napi::String::New(env, hex16(h.program_xxh)));
  }
  o.Set("imageXxh", Napi::String::New(env, hex16(t.image_xxh)));
  o.Set("fileSize", Napi::Number::New(env, static_cast<double>(h.file_size)));
  o.Set("uid", Napi::Number::New(env, st.st_uid));
  o.Set("mode", Napi::Number::New(env, st.st_mode));
  return o;
}

}  // namespace

void RegisterSeal(Napi::Env env, Napi::Object exports) {
  exports.Set("readSeal", Napi::Function::New(env, ReadSeal, "readSeal"));
}

}  // namespace amber_addon
