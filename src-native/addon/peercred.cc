// peerCred(fd): the credentials of the peer of a connected Unix socket (SO_PEERCRED), which Node
// does not expose. The coordinator uses it to refuse clients of another uid (docs/PROTOCOL.md,
// "Addresses and tokens"). The fd is the one libuv holds for the socket; we only read its options.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <poll.h>
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

// sendFd(sock, text, fd): writes text on the connected Unix socket sock with descriptor fd attached
// (SCM_RIGHTS), which Node's sockets cannot. The coordinator hands an agent whose process runs as
// another user than the coordinator's root the image file it opened for it (docs/PROTOCOL.md,
// `write`): that user cannot create files in the coordinator's directory. The caller makes sure
// nothing it wrote through Node is still queued (the order of lines is kept). The socket is
// non-blocking (libuv's): a full buffer is waited for, briefly.
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "sendFd(sock, text, fd): sock and fd must be numbers, text a string");
  }
  const int sock = info[0].As<Napi::Number>().Int32Value();
  const std::string text = info[1].As<Napi::String>().Utf8Value();
  const int fd = info[2].As<Napi::Number>().Int32Value();
  size_t off = 0;
  bool first = true;
  int waited_ms = 0;
  while (off < text.size()) {
    struct iovec iov = {const_cast<char*>(text.data() + off), text.size() - off};
    struct msghdr mh;
    std::memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
    if (first) {  // the descriptor goes with the first byte
      std::memset(cbuf, 0, sizeof cbuf);
      mh.msg_control = cbuf;
      mh.msg_controllen = sizeof cbuf;
      struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && waited_ms < 10000) {
      struct pollfd p = {sock, POLLOUT, 0};
      poll(&p, 1, 100);
      waited_ms += 100;
      continue;
    }
    if (n < 0) {
      const int err = errno;
      Napi::Error e = Napi::Error::New(env, std::string("sendFd: sendmsg on fd ") + std::to_string(sock) + ": " + std::strerror(err));
      e.Set("errno", Napi::Number::New(env, err));
      throw e;
    }
    off += (size_t)n;
    first = false;
  }
  return env.Undefined();
}

// socketPair(): [fd, fd], a connected pair of Unix stream sockets (close-on-exec). The coordinator
// keeps one end as a new agent connection and passes the other (sendFd) to a process of the
// computation that runs as another user (setuid after launch): its forked child joins through it,
// since that user may not connect to a root coordinator's socket.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    const int err = errno;
    Napi::Error e = Napi::Error::New(env, std::string("socketPair: ") + std::strerror(err));
    e.Set("errno", Napi::Number::New(env, err));
    throw e;
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, sv[0]));
  a.Set(1u, Napi::Number::New(env, sv[1]));
  return a;
}

}  // namespace

void RegisterPeerCred(Napi::Env env, Napi::Object exports) {
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
  exports.Set("sendFd", Napi::Function::New(env, SendFd, "sendFd"));
}

}  // namespace amber_addon
