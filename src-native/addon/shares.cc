// sharedFiles(procs): which saved descriptors are one open file description (one offset), within
// a process (dup) and across processes (inherited over fork). The coordinator calls it once every
// image of a generation is written and before the processes resume or die: the processes are
// frozen, alive, and their descriptors are exactly those in the images.
//
// Mechanism only: candidates are descriptors of regular files, directories and character devices
// reopened at their path (/dev/null, /dev/urandom: their status flags are one too) with the same
// (dev, inode) in the images, and epoll instances (one interest list; every epoll has the same
// anonymous inode, so all of them are candidates of one another); kcmp(2) KCMP_FILE decides whether two are the same description
// (it needs PTRACE_MODE_READ over both processes: same uid and dumpable, no privilege; Yama does
// not restrict READ mode). A pair kcmp cannot compare (EPERM, a process that set itself
// undumpable, ENOSYS) is left unshared: the restart then reopens it on its own, as before.
// Runs on the libuv pool (AsyncWorker): reading thousands of images' metadata is not for the
// coordinator's event loop.
//
// A forked checkpoint (docs/PROTOCOL.md `forked`) asks before the images are written, when every
// process is frozen with its state captured: an entry with an empty `image` then lists the
// process's live descriptors (/proc/PID/fd), which are at that moment the ones its image holds
// (the agent's own socket is no file; the descriptors it opened to capture are closed again).
#include <napi.h>

#include <dirent.h>
#include <sys/stat.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "image/reader.h"

namespace amber_addon {

namespace {

struct Proc {
  int32_t pid;
  std::string image;
};

struct Desc {
  uint32_t proc;
  int32_t fd;
};

// What /proc/PID/fd/N says for an epoll instance.
constexpr char kEpollLink[] = "anon_inode:[eventpoll]";

long kcmpFile(int32_t pid1, int32_t pid2, int32_t fd1, int32_t fd2) {
  return syscall(SYS_kcmp, pid1, pid2, 0 /*KCMP_FILE*/, fd1, fd2);
}

class SharesWorker final : public Napi::AsyncWorker {
 public:
  SharesWorker(Napi::Env env, std::vector<Proc> procs)
      : Napi::AsyncWorker(env, "amber.sharedFiles"), procs_(std::move(procs)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      std::map<std::pair<uint64_t, uint64_t>, std::vector<Desc>> byFile;
      for (uint32_t i = 0; i < procs_.size(); i++) {
        if (procs_[i].image.empty()) {
          std::string dir = "/proc/" + std::to_string(procs_[i].pid) + "/fd";
          DIR* d = opendir(dir.c_str());
          if (!d) continue;  // gone or not ours: compared with nothing, as kcmp would refuse
          while (struct dirent* e = readdir(d)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            std::string path = dir + "/" + e->d_name;
            struct stat st;
            if (stat(path.c_str(), &st) < 0) continue;
            char target[32];
            ssize_t n = readlink(path.c_str(), target, sizeof target);
            bool epoll = n == (ssize_t)(sizeof kEpollLink - 1) && std::memcmp(target, kEpollLink, (size_t)n) == 0;
            if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || epoll)
              byFile[{(uint64_t)st.st_dev, (uint64_t)st.st_ino}].push_back(Desc{i, (int32_t)std::stoi(e->d_name)});
          }
          closedir(d);
          continue;
        }
        auto im = amber::Image::open(procs_[i].image);
        const amber_view& v = im->view();
        for (uint32_t k = 0; k < v.nfds; k++) {
          const amber_fd& f = v.fds[k];
          bool dev = f.kind == AMBER_FD_CHR && f.subkind == AMBER_CHR_OTHER && !(f.fd_flags & AMBER_FD_TTY);
          bool epoll = f.kind == AMBER_FD_ANON && f.subkind == AMBER_ANON_EPOLL;
          if (f.kind == AMBER_FD_FILE || f.kind == AMBER_FD_DIR || dev || epoll) byFile[{f.dev, f.inode}].push_back(Desc{i, f.fd});
        }
      }
      for (auto& [file, ds] : byFile) {
        if (ds.size() < 2) continue;
        // Union-find over the candidates of one file (a handful, in practice).
        std::vector<size_t> up(ds.size());
        std::iota(up.begin(), up.end(), 0);
        auto root = [&](size_t x) {
          while (up[x] != x) x = up[x] = up[up[x]];
          return x;
        };
        for (size_t a = 0; a < ds.size(); a++)
          for (size_t b = a + 1; b < ds.size(); b++) {
            if (root(a) == root(b)) continue;
            long r = kcmpFile(procs_[ds[a].proc].pid, procs_[ds[b].proc].pid, ds[a].fd, ds[b].fd);
            if (r == 0) up[root(b)] = root(a);
            else if (r < 0 && errno != EBADF) failures_++;
          }
        std::map<size_t, std::vector<Desc>> groups;
        for (size_t a = 0; a < ds.size(); a++) groups[root(a)].push_back(ds[a]);
        for (auto& [r, g] : groups)
          if (g.size() > 1) result_.push_back(std::move(g));
      }
    } catch (const amber::ReadError& e) {
      error_ = e;
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      Napi::Error e = Napi::Error::New(env, error_->what());
      e.Set("code", Napi::String::New(env, error_->code));
      e.Set("path", Napi::String::New(env, error_->path));
      if (error_->err) e.Set("errno", Napi::Number::New(env, error_->err));
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    Napi::Array groups = Napi::Array::New(env, result_.size());
    for (uint32_t i = 0; i < result_.size(); i++) {
      Napi::Array g = Napi::Array::New(env, result_[i].size());
      for (uint32_t k = 0; k < result_[i].size(); k++) {
        Napi::Object d = Napi::Object::New(env);
        d.Set("index", Napi::Number::New(env, result_[i][k].proc));
        d.Set("fd", Napi::Number::New(env, result_[i][k].fd));
        g.Set(k, d);
      }
      groups.Set(i, g);
    }
    out.Set("groups", groups);
    out.Set("uncompared", Napi::Number::New(env, failures_));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::vector<Proc> procs_;
  Napi::Promise::Deferred deferred_;
  std::vector<std::vector<Desc>> result_;
  uint32_t failures_ = 0;
  std::optional<amber::ReadError> error_;
};

Napi::Value SharedFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray())
    throw Napi::TypeError::New(env, "sharedFiles(procs): procs must be an array of { pid, image }");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<Proc> procs;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "sharedFiles(procs): each entry must be { pid, image }");
    Napi::Object o = v.As<Napi::Object>();
    if (!o.Get("pid").IsNumber() || !o.Get("image").IsString())
      throw Napi::TypeError::New(env, "sharedFiles(procs): each entry needs a numeric pid and an image path");
    procs.push_back(Proc{o.Get("pid").As<Napi::Number>().Int32Value(), o.Get("image").As<Napi::String>().Utf8Value()});
  }
  auto* w = new SharesWorker(env, std::move(procs));  // deleted by the AsyncWorker machinery
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace

void RegisterShares(Napi::Env env, Napi::Object exports) {
  exports.Set("sharedFiles", Napi::Function::New(env, SharedFiles, "sharedFiles"));
}

}  // namespace amber_addon
