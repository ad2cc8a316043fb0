// syncFs(dir): Promise<void> — syncfs(2) on the filesystem holding dir, off the JS thread.
//
// The coordinator makes a generation's images durable with it, once, instead of each agent
// fsync'ing its own image and its directory (`nosync`, docs/PROTOCOL.md): with thousands of
// processes those fsyncs, each a journal commit, were most of the checkpoint. syncfs writes back
// and commits everything of that filesystem that this host has dirty; agents on other hosts (whose
// page cache this does not reach) still fsync their own images.
#include <napi.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace amber_addon {
namespace {

class SyncFsWorker final : public Napi::AsyncWorker {
 public:
  SyncFsWorker(Napi::Env env, std::string dir)
      : Napi::AsyncWorker(env, "amber.syncFs"), dir_(std::move(dir)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0) err_ = errno;
    if (fd >= 0) close(fd);
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!err_) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error e = Napi::Error::New(env, "syncfs " + dir_ + ": " + std::strerror(err_));
    e.Set("errno", Napi::Number::New(env, err_));
    deferred_.Reject(e.Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::string dir_;
  Napi::Promise::Deferred deferred_;
  int err_ = 0;
};

Napi::Value SyncFs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "syncFs(dir): dir must be a string");
  auto* w = new SyncFsWorker(env, info[0].As<Napi::String>().Utf8Value());  // deleted by the AsyncWorker machinery
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace

void RegisterSyncFs(Napi::Env env, Napi::Object exports) {
  exports.Set("syncFs", Napi::Function::New(env, SyncFs, "syncFs"));
}

}  // namespace amber_addon
