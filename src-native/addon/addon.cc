// The amber N-API addon: reading and verifying images for `amber inspect`, `amber restart` and
// the TypeScript API. All parsing is image/reader.cc over image/validate.h (the restorer's own
// checks), so the addon never accepts an image the restorer would refuse.
//
// Exports:
//   readImage(path: string): ImageInfo         sync; reads header, metadata and trailer only
//   verifyImage(path: string): Promise<{chunks, bytes}>
//                                              reads and checks every chunk, off the JS thread
//   formatVersion: { major, minor }            the image format this build reads
//   peerCred(fd: number): { pid, uid, gid }    SO_PEERCRED of a connected Unix socket (peercred.cc)
//   sendFd(sock, text, fd)                      text with a descriptor attached (SCM_RIGHTS) (peercred.cc)
//   socketPair(): [fd, fd]                      a connected pair of Unix stream sockets (peercred.cc)
//   readSeal(path: string): ImageSeal          header + trailer only: what binds an image (seal.cc)
//   syncFs(dir: string): Promise<void>         syncfs(2) of dir's filesystem, off the JS thread (syncfs.cc)
// Errors are JS Errors with string `code` ('ENOTIMAGE', 'ETRUNCATED', 'EVERSION', 'EBADIMAGE',
// 'ECHECKSUM' or an errno name), `errno` (number, for I/O errors), `path`, `offset` (number, when
// the problem has a file offset).
#include <napi.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "image/reader.h"
#include "image/sockrec.h"

namespace amber_addon {
void RegisterPeerCred(Napi::Env env, Napi::Object exports);  // peercred.cc
void RegisterShares(Napi::Env env, Napi::Object exports);    // shares.cc
void RegisterSeal(Napi::Env env, Napi::Object exports);      // seal.cc
void RegisterSyncFs(Napi::Env env, Napi::Object exports);    // syncfs.cc
}  // namespace amber_addon

namespace {

using amber::Image;
using amber::ReadError;

// 64-bit addresses do not fit a JS number exactly; they cross as "0x..." strings.
std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// A checksum as 16 hex digits (what manifests record).
std::string hex16(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// Sizes and offsets are far below 2^53 in practice; numbers are friendlier for them.
Napi::Number num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

std::string fixedString(const char* s, size_t cap) { return std::string(s, strnlen(s, cap)); }

Napi::Error toJsError(Napi::Env env, const ReadError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  Napi::Object o = err.Value();
  o.Set("code", Napi::String::New(env, e.code));
  if (e.err != 0) o.Set("errno", Napi::Number::New(env, e.err));
  o.Set("path", Napi::String::New(env, e.path));
  if (e.hasOffset) o.Set("offset", num(env, e.offset));
  return err;
}

std::string pathArg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + "(path): path must be a string");
  return info[0].As<Napi::String>().Utf8Value();
}

std::string protString(uint32_t prot, uint32_t flags) {
  std::string s = "---p";
  if (prot & 1) s[0] = 'r';
  if (prot & 2) s[1] = 'w';
  if (prot & 4) s[2] = 'x';
  if (flags & AMBER_REG_SHARED) s[3] = 's';
  return s;
}

Napi::Array regionFlags(Napi::Env env, uint32_t flags) {
  static const struct {
    uint32_t bit;
    const char* name;
  } kNames[] = {
      {AMBER_REG_FILE, "file"},         {AMBER_REG_STACK, "stack"},
      {AMBER_REG_HEAP, "heap"},         {AMBER_REG_VDSO, "vdso"},
      {AMBER_REG_VVAR, "vvar"},         {AMBER_REG_VVAR_VCLOCK, "vvar_vclock"},
      {AMBER_REG_VSYSCALL, "vsyscall"}, {AMBER_REG_NODATA, "nodata"},
      {AMBER_REG_ALLDATA, "alldata"},   {AMBER_REG_DELETED, "deleted"}, {AMBER_REG_AIO, "aio"},
      {AMBER_REG_SHARED, "shared"},
  };
  Napi::Array a = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& f : kNames)
    if (flags & f.bit) a.Set(n++, Napi::String::New(env, f.name));
  return a;
}

const char* fdKind(uint32_t kind) {
  switch (kind) {
    case AMBER_FD_FILE: return "file";
    case AMBER_FD_DIR: return "dir";
    case AMBER_FD_CHR: return "chr";
    case AMBER_FD_PIPE: return "pipe";
    case AMBER_FD_SOCKET: return "socket";
    case AMBER_FD_ANON: return "anon";
    case AMBER_FD_AGENT: return "agent";
    default: return "other"; // AMBER_FD_OTHER, or a kind from a newer minor
  }
}

Napi::Object versionObject(Napi::Env env, uint32_t major, uint32_t minor) {
  Napi::Object v = Napi::Object::New(env);
  v.Set("major", Napi::Number::New(env, major));
  v.Set("minor", Napi::Number::New(env, minor));
  return v;
}

std::string hexBytes(const uint8_t* p, uint32_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (uint32_t i = 0; i < n && i < 128; i++) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

// The record of a saved socket (format 1.2; 1.4 adds its state), checked against its data's length.
bool socketView(const Image& im, const amber_fd& f, amber_sockview* v) {
  if (f.kind != AMBER_FD_SOCKET) return false;
  std::string_view d = im.str(f.data);
  return amber_sock_parse(d.data(), (uint32_t)d.size(), v) != 0;
}
bool socketInfo(const Image& im, const amber_fd& f, amber_sockinfo* si) {
  amber_sockview v;
  if (!socketView(im, f, &v)) return false;
  *si = v.si;
  return true;
}

Napi::Object imageInfo(Napi::Env env, const Image& im) {
  const amber_header& h = im.header();
  const amber_view& v = im.view();
  auto str = [&](amber_str s) {
    std::string_view sv = im.str(s);
    return Napi::String::New(env, sv.data(), sv.size());
  };

  Napi::Object o = Napi::Object::New(env);
  o.Set("path", Napi::String::New(env, im.path()));
  o.Set("version", versionObject(env, h.major, h.minor));
  o.Set("arch", Napi::String::New(env, "x86_64")); // the only arch validate.h accepts
  o.Set("pageSize", Napi::Number::New(env, h.page_size));
  o.Set("kernel", Napi::String::New(env, fixedString(h.kernel_release, sizeof h.kernel_release)));
  o.Set("libc", Napi::String::New(env, fixedString(h.libc_version, sizeof h.libc_version)));
  o.Set("hostname", Napi::String::New(env, fixedString(h.hostname, sizeof h.hostname)));
  o.Set("vpid", Napi::Number::New(env, h.vpid));
  o.Set("parentVpid", Napi::Number::New(env, h.parent_vpid));
  o.Set("pid", Napi::Number::New(env, h.real_pid));
  o.Set("generation", Napi::Number::New(env, h.generation));
  o.Set("time", Napi::Number::New(env, static_cast<double>(h.time_ns / 1000000)));
  o.Set("fileSize", num(env, h.file_size));
  o.Set("pagesTotal", num(env, h.pages_total));
  o.Set("pagesStored", num(env, h.pages_stored));
  // What binds the image to its manifest (issue 12): the trailer's checksum; format 1.4 adds the
  // generation's id and the program's checksum to the header.
  o.Set("imageXxh", Napi::String::New(env, hex16(im.trailer().image_xxh)));
  if (h.minor >= 4) {
    o.Set("generationId", Napi::String::New(env, hexBytes(h.generation_id, sizeof h.generation_id)));
    o.Set("programXxh", Napi::String::New(env, hex16(h.program_xxh)));
  }

  // argv joined by NUL; a trailing NUL terminates the last argument rather than adding an
  // empty one, but empty arguments in the middle are kept.
  Napi::Array argv = Napi::Array::New(env);
  {
    std::string_view cl = im.str(v.proc->cmdline);
    uint32_t n = 0;
    size_t start = 0;
    while (start < cl.size()) {
      size_t nul = cl.find('\0', start);
      if (nul == std::string_view::npos) nul = cl.size();
      argv.Set(n++, Napi::String::New(env, cl.data() + start, nul - start));
      start = nul + 1;
    }
  }
  o.Set("cmdline", argv);
  o.Set("cwd", str(v.proc->cwd));
  if (v.proc->app_pid) {  // format 1.3
    o.Set("appPid", Napi::Number::New(env, v.proc->app_pid));
    o.Set("pgid", Napi::Number::New(env, v.proc->pgid));
    o.Set("sid", Napi::Number::New(env, v.proc->sid));
  }
  o.Set("exe", str(v.proc->exe));

  Napi::Array threads = Napi::Array::New(env, v.nthreads);
  for (uint32_t i = 0; i < v.nthreads; i++) {
    const amber_thread& t = v.threads[i];
    Napi::Object to = Napi::Object::New(env);
    to.Set("tid", Napi::Number::New(env, t.tid));
    to.Set("main", Napi::Boolean::New(env, t.flags & AMBER_THR_MAIN));
    to.Set("ckpt", Napi::Boolean::New(env, t.flags & AMBER_THR_CKPT));
    to.Set("fsBase", Napi::String::New(env, hex(t.fs_base)));
    // lib/types.ts: rseq is "had a registered rseq area"; rseqAddr is the area (extra field)
    to.Set("rseq", Napi::Boolean::New(env, t.rseq_len != 0));
    if (t.rseq_len) to.Set("rseqAddr", Napi::String::New(env, hex(t.rseq_addr)));
    threads.Set(i, to);
  }
  o.Set("threads", threads);

  uint64_t totalStored = 0;
  Napi::Array regions = Napi::Array::New(env, v.nregions);
  for (uint32_t i = 0; i < v.nregions; i++) {
    const amber_region& r = v.regions[i];
    uint64_t stored = 0;
    for (uint32_t c = r.first_chunk; c < r.first_chunk + r.nchunks; c++) stored += v.chunks[c].stored_len;
    totalStored += stored;
    Napi::Object ro = Napi::Object::New(env);
    ro.Set("start", Napi::String::New(env, hex(r.start)));
    ro.Set("end", Napi::String::New(env, hex(r.end)));
    ro.Set("prot", Napi::String::New(env, protString(r.prot, r.flags)));
    ro.Set("flags", regionFlags(env, r.flags));
    ro.Set("path", str(r.path));
    ro.Set("offset", num(env, r.file_off));
    ro.Set("chunks", Napi::Number::New(env, r.nchunks));
    ro.Set("storedBytes", num(env, stored));
    regions.Set(i, ro);
  }
  o.Set("regions", regions);

  Napi::Array fds = Napi::Array::New(env, v.nfds);
  for (uint32_t i = 0; i < v.nfds; i++) {
    const amber_fd& f = v.fds[i];
    Napi::Object fo = Napi::Object::New(env);
    fo.Set("fd", Napi::Number::New(env, f.fd));
    fo.Set("kind", Napi::String::New(env, fdKind(f.kind)));
    fo.Set("path", str(f.path));
    fo.Set("flags", Napi::Number::New(env, f.flags));
    fo.Set("pos", num(env, f.pos));
    // Format 1.4: in no table (in flight inside a socket's queue, or a pending connection).
    if (f.fd_flags & AMBER_FD_HIDDEN) fo.Set("hidden", Napi::Boolean::New(env, true));
    amber_sockview sv;
    if (socketView(im, f, &sv)) {
      const amber_sockinfo& si = sv.si;
      Napi::Object so = Napi::Object::New(env);
      so.Set("family", Napi::String::New(env, si.family == 1 ? "unix" : si.family == 2 ? "inet" : si.family == 10 ? "inet6" : std::to_string(si.family)));
      so.Set("type", Napi::Number::New(env, si.type));
      so.Set("state", Napi::String::New(env, f.subkind == AMBER_SOCK_LISTEN ? "listen" : f.subkind == AMBER_SOCK_CONNECTED ? "connected" : "other"));
      so.Set("local", Napi::String::New(env, hexBytes(si.local, si.local_len)));
      so.Set("peer", Napi::String::New(env, hexBytes(si.peer, si.peer_len)));
      so.Set("inflightBytes", Napi::Number::New(env, si.inflight_len));
      so.Set("sendQueueBytes", Napi::Number::New(env, si.sndq));
      so.Set("inode", num(env, f.inode));
      so.Set("peerInode", Napi::Number::New(env, si.peer_ino));
      so.Set("protocol", Napi::Number::New(env, si.protocol));
      if (sv.has_x) {
        // Format 1.4: the kernel state (TCP or sock_diag), what the program set, what waits.
        const amber_sockx& x = sv.x;
        bool unix_ = si.family == 1;
        uint32_t st = x.state;
        bool finRecv = unix_ ? (x.shutdown & 1) != 0 : (st == 8 || st == 9 || st == 11 || st == 7);
        bool finSent = unix_ ? (x.shutdown & 2) != 0 : (st == 4 || st == 5 || st == 11 || st == 9 || st == 7);
        so.Set("kernelState", Napi::Number::New(env, st));
        so.Set("finReceived", Napi::Boolean::New(env, finRecv));
        so.Set("finSent", Napi::Boolean::New(env, finSent));
        so.Set("peerGone", Napi::Boolean::New(env, (x.flags & AMBER_SOCKX_PEER_GONE) != 0));
        so.Set("pendingConnection", Napi::Boolean::New(env, (x.flags & AMBER_SOCKX_PENDING) != 0));
        so.Set("options", Napi::Number::New(env, x.nopts));
        so.Set("messages", Napi::Number::New(env, x.nmsgs));
        so.Set("pending", Napi::Number::New(env, x.npending));
      }
      fo.Set("socket", so);
    }
    fds.Set(i, fo);
  }
  o.Set("fds", fds);

  Napi::Array timers = Napi::Array::New(env, v.ntimers);
  for (uint32_t i = 0; i < v.ntimers; i++) {
    const amber_timer& t = v.timers[i];
    Napi::Object tobj = Napi::Object::New(env);
    tobj.Set("id", Napi::Number::New(env, t.id));
    tobj.Set("clockid", Napi::Number::New(env, t.clockid));
    tobj.Set("signo", Napi::Number::New(env, t.signo));
    timers.Set(i, tobj);
  }
  o.Set("timers", timers);

  o.Set("chunks", Napi::Number::New(env, v.nchunks));
  o.Set("storedBytes", num(env, totalStored));
  return o;
}

// socketInflight(path, fd): the bytes a saved socket had waiting to be read (restart hands them
// to a connection it rebuilds between two separately restored process trees).
Napi::Value SocketInflight(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = pathArg(info, "socketInflight");
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "socketInflight(path, fd): fd must be a number");
  const int32_t fd = info[1].As<Napi::Number>().Int32Value();
  try {
    auto im = Image::open(path);
    const amber_view& v = im->view();
    for (uint32_t i = 0; i < v.nfds; i++) {
      amber_sockinfo si;
      if (v.fds[i].fd != fd || !socketInfo(*im, v.fds[i], &si)) continue;
      std::string_view d = im->str(v.fds[i].data);
      return Napi::Buffer<char>::Copy(env, d.data() + sizeof si, si.inflight_len);
    }
  } catch (const ReadError& e) {
    throw toJsError(env, e);
  }
  Napi::Error e = Napi::Error::New(env, path + ": no saved socket at fd " + std::to_string(fd));
  e.Set("code", Napi::String::New(env, "ENOSOCKET"));
  e.Set("path", Napi::String::New(env, path));
  throw e;
}

Napi::Value ReadImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = pathArg(info, "readImage");
  try {
    auto im = Image::open(path);
    return imageInfo(env, *im);
  } catch (const ReadError& e) {
    throw toJsError(env, e);
  }
}

// verifyImage runs the whole read (open + every chunk) on the libuv pool: a multi-GB image
// would otherwise block the coordinator's event loop for seconds.
class VerifyWorker final : public Napi::AsyncWorker {
 public:
  VerifyWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env, "amber.verifyImage"), path_(std::move(path)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    // No JS here. ReadError is kept whole (AsyncWorker::SetError would keep only the message,
    // losing code/errno/path/offset) and turned into a JS error in OnOK.
    try {
      auto im = Image::open(path_);
      result_ = im->verifyChunks();
    } catch (const ReadError& e) {
      error_ = e;
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(toJsError(env, *error_).Value());
      return;
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("chunks", num(env, result_.chunks));
    r.Set("bytes", num(env, result_.bytes));
    deferred_.Resolve(r);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string path_;
  Napi::Promise::Deferred deferred_;
  Image::Verified result_;
  std::optional<ReadError> error_;
};

Napi::Value VerifyImage(const Napi::CallbackInfo& info) {
  const std::string path = pathArg(info, "verifyImage");
  auto* w = new VerifyWorker(info.Env(), path); // owned and deleted by the AsyncWorker machinery
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("readImage", Napi::Function::New(env, ReadImage, "readImage"));
  exports.Set("verifyImage", Napi::Function::New(env, VerifyImage, "verifyImage"));
  exports.Set("socketInflight", Napi::Function::New(env, SocketInflight, "socketInflight"));
  exports.Set("formatVersion", versionObject(env, AMBER_FORMAT_MAJOR, AMBER_FORMAT_MINOR));
  amber_addon::RegisterPeerCred(env, exports);
  amber_addon::RegisterShares(env, exports);
  amber_addon::RegisterSeal(env, exports);
  amber_addon::RegisterSyncFs(env, exports);
  return exports;
}

} // namespace

NODE_API_MODULE(amber, Init)
