// peerCred(fd): the credentials of the peer of a connected Unix socket (SO_PEERCRED), which Node
// does not expose. The coordinator uses it to refuse clients of another uid (docs/PROTOCOL.md,
// "Addresses and tokens"). The fd is the one libuv holds for the socket; we only read its options.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>

namespace amber_addon {

namespace {

Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "peerCred(fd): fd must be a number");
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  struct ucred cred;
  std::memset(&cred, 0, sizeof cred);
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
    const int err = errno;
    Napi::Error e = Napi::Error::New(env, std::string("peerCred: getsockopt(SO_PEERCRED) on fd ") +
                                              std::to_string(fd) + ": " + std::strerror(err));
    e.Set("code", Napi::String::New(env, err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : "EPEERCRED"));
    e.Set("errno", Napi::Number::New(env, err));
    throw e;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", Napi::Number::New(env, cred.pid));
  o.Set("uid", Napi::Number::New(env, cred.uid));
  o.Set("gid", Napi::Number::New(env, cred.gid));
  return o;
}

}  // namespace

void RegisterPeerCred(Napi::Env env, Napi::Object exports) {
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
}

}  // namespace amber_addon
