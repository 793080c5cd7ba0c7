// Implementation of rocksdr/control_server.h: the Unix socket, its permissions, the peer check,
// the accept and connection threads, and the per-connection protocol state (hello first).
#include "rocksdr/control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <list>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "control_server.h"
#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/replication/control_io.h"
#include "rocksdr/replication/control_protocol.h"
#include "rocksdr/replication/thread_name.h"

namespace rocksdr {

namespace {

namespace ctl = replication::control;
using nlohmann::json;

std::string Errno(int e) { return std::strerror(e); }

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// The parent directory must not let another user replace our socket.
Status CheckParent(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  if (parent.empty()) parent = ".";
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0) {
    return Status::IOError("control socket directory " + parent + ": " + Errno(errno) + " (create it first, mode 0700)");
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("control socket directory " + parent + " is not a directory");
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    return Status::PermissionDenied("control socket directory " + parent + " belongs to uid " +
                                    std::to_string(st.st_uid) + ", not to this user or root");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return Status::PermissionDenied("control socket directory " + parent +
                                    " is writable by group or others without the sticky bit: another user could "
                                    "replace the socket (chmod 0700 it, or use a private directory)");
  }
  return Status::OK();
}

// Removes a stale socket file at `path`; refuses anything else.
Status ClearPath(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return Status::IOError("control socket " + path + ": " + Errno(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::FailedPrecondition("control socket path " + path +
                                      " exists and is not a socket; refusing to remove it (choose another path)");
  }
  // Someone still answering there?
  Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe.get() >= 0) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      return Status::AlreadyExists("another process serves the control socket " + path +
                                   " (is a second copy of the application running on this DB?)");
    }
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::IOError("removing the stale control socket " + path + ": " + Errno(errno));
  }
  spdlog::info("rocksdr: removed a stale control socket at {}", path);
  return Status::OK();
}

class ControlServerImpl : public ControlServer {
 public:
  ControlServerImpl(Replicator* replicator, std::string path, ControlServerOptions options)
      : path_(std::move(path)), options_(options), handler_(replicator, options) {}
  ~ControlServerImpl() override { Stop(); }

  Status Start() {
    if (path_.empty()) return Status::InvalidArgument("control socket path is empty");
    if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
      return Status::InvalidArgument("control socket path is " + std::to_string(path_.size()) +
                                     " bytes; a Unix socket path must be shorter than " +
                                     std::to_string(sizeof(sockaddr_un::sun_path)));
    }
    ROCKSDR_RETURN_IF_ERROR(CheckParent(path_));
    ROCKSDR_RETURN_IF_ERROR(ClearPath(path_));
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) return Status::IOError("pipe: " + Errno(errno));
    wake_read_ = pipefd[0];
    wake_write_ = pipefd[1];
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) return Status::IOError("control socket: socket: " + Errno(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    // The file is created by bind with mode 0777 & ~umask: never let it exist with more than 0600.
    const mode_t old = ::umask(077);
    const int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    const int bind_errno = errno;
    ::umask(old);
    if (rc != 0) return Status::IOError("control socket " + path_ + ": bind: " + Errno(bind_errno));
    bound_ = true;
    struct stat st {};
    if (::chmod(path_.c_str(), 0600) != 0 || ::lstat(path_.c_str(), &st) != 0) {
      return Status::IOError("control socket " + path_ + ": chmod: " + Errno(errno));
    }
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    if (::listen(listen_fd_, 16) != 0) return Status::IOError("control socket " + path_ + ": listen: " + Errno(errno));
    accept_thread_ = std::thread([this] {
      replication::SetThreadName(replication::kThreadControl);
      AcceptLoop();
    });
    spdlog::info("rocksdr: control socket listening at {}", path_);
    return Status::OK();
  }

  const std::string& path() const override { return path_; }

  size_t connections() const override {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (const auto& c : conns_) n += c.done->load() ? 0 : 1;
    return n;
  }

  void Stop() override {
    std::lock_guard<std::mutex> stop_lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    if (wake_write_ >= 0) {
      const char b = 1;
      (void)!::write(wake_write_, &b, 1);
    }
    if (accept_thread_.joinable()) accept_thread_.join();
    std::list<Conn> conns;
    {
      std::lock_guard<std::mutex> l(mu_);
      conns.swap(conns_);
    }
    for (auto& c : conns) {
      if (c.thread.joinable()) c.thread.join();
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    if (bound_) {
      // Remove the file only if it is still ours (not replaced by a newer server).
      struct stat st {};
      if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
    }
    if (wake_read_ >= 0) ::close(wake_read_);
    if (wake_write_ >= 0) ::close(wake_write_);
    wake_read_ = wake_write_ = -1;
  }

 private:
  struct Conn {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  // Best-effort error answer to a connection we are about to close.
  void Refuse(int fd, uint64_t id, const Status& s) {
    auto msg = ctl::EncodeMessage(ctl::MakeResponse(id, s, json::object()));
    if (msg.ok()) (void)ctl::WriteAll(fd, *msg, ctl::Clock::now() + std::chrono::milliseconds(500), wake_read_);
  }

  void Reap() {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
      const int n = ::poll(fds, 2, 1000);
      if (n < 0 && errno != EINTR) {
        spdlog::error("rocksdr: control socket {}: poll: {}", path_, Errno(errno));
        return;
      }
      if (fds[1].revents != 0) return;  // Stop()
      Reap();
      if (n <= 0 || fds[0].revents == 0) continue;
      const int raw = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (raw < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
          spdlog::warn("rocksdr: control socket {}: accept: {}", path_, Errno(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(50));  // EMFILE etc.: do not spin
        }
        continue;
      }
      auto fd = std::make_shared<Fd>(raw);
      auto uid = ctl::PeerUid(fd->get());
      if (!uid.ok() || (*uid != ::geteuid() && *uid != 0)) {
        const std::string who = uid.ok() ? "uid " + std::to_string(*uid) : "an unknown uid";
        spdlog::warn("rocksdr: control socket {}: refused a connection from {}", path_, who);
        Refuse(fd->get(), 0,
               Status::PermissionDenied("the rocksdr control socket serves only its owner (uid " +
                                        std::to_string(::geteuid()) + ") and root, not " + who));
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      size_t live = 0;
      for (const auto& c : conns_) live += c.done->load() ? 0 : 1;
      if (live >= options_.max_connections) {
        Refuse(fd->get(), 0,
               Status::ResourceExhausted("the rocksdr control socket already serves " + std::to_string(live) +
                                         " connections (the limit); retry later"));
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      conns_.push_back(Conn{std::thread([this, fd, done] {
                              replication::SetThreadName(replication::kThreadControlConn);
                              Serve(fd->get());
                              fd->Reset();
                              done->store(true);
                            }),
                            done});
    }
  }

  bool Send(int fd, uint64_t id, const Status& s, json result) {
    auto msg = ctl::EncodeMessage(ctl::MakeResponse(id, s, std::move(result)));
    if (!msg.ok()) msg = ctl::EncodeMessage(ctl::MakeResponse(id, msg.status(), json::object()));
    if (!msg.ok()) return false;
    Status w = ctl::WriteAll(fd, *msg, ctl::Clock::now() + options_.io_timeout, wake_read_);
    crypto::Zeroize(msg->data(), msg->size());
    return w.ok();
  }

  void Serve(int fd) {
    bool hello = false;
    for (;;) {
      auto body = ctl::ReadMessage(fd, ctl::Clock::now() + options_.idle_timeout, options_.io_timeout, wake_read_);
      if (!body.ok()) {
        const Code c = body.status().code();
        if (c == Code::kInvalidArgument || c == Code::kResourceExhausted) {
          // A bad length: the stream cannot be resynchronized. Answer, then close.
          Send(fd, 0, body.status(), json::object());
        }
        return;
      }
      if (!body->has_value()) return;  // the client closed
      std::string& text = **body;
      auto message = ctl::ParseMessageBody(text);
      crypto::Zeroize(text.data(), text.size());
      if (!message.ok()) {
        if (!Send(fd, 0, message.status(), json::object())) return;
        continue;
      }
      uint64_t id = 0;
      auto request = ctl::ParseRequest(*message, &id);
      if (!request.ok()) {
        if (!Send(fd, id, request.status(), json::object())) return;
        continue;
      }
      if (request->op == ctl::kOpHello && !hello) {
        auto version = Hello(request->args);
        if (!Send(fd, request->id, version.status(), version.ok() ? *version : json::object())) return;
        hello = version.ok();
        continue;
      }
      if (!hello) {
        if (!Send(fd, request->id,
                  Status::FailedPrecondition("the first request on a control connection must be 'hello'"),
                  json::object())) {
          return;
        }
        continue;
      }
      auto result = handler_.Handle(*request);
      if (!Send(fd, request->id, result.status(), result.ok() ? std::move(*result) : json::object())) return;
    }
  }

  static Result<json> Hello(const json& args) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"min_version", "max_version", "client"}, "hello"));
    auto min = ctl::GetUint(args, "min_version");
    if (!min.ok()) return min.status().WithContext("hello");
    auto max = ctl::GetUint(args, "max_version");
    if (!max.ok()) return max.status().WithContext("hello");
    auto client = ctl::GetString(args, "client", 128, /*required=*/false);
    if (!client.ok()) return client.status().WithContext("hello");
    if (*min > *max) return Status::InvalidArgument("hello: min_version is above max_version");
    if (*min > ctl::kProtocolVersion || *max < ctl::kProtocolVersion) {
      return Status::FailedPrecondition("hello: this plugin speaks control protocol version " +
                                        std::to_string(ctl::kProtocolVersion) + " only; the client asked for " +
                                        std::to_string(*min) + ".." + std::to_string(*max) +
                                        " (upgrade the older of the sidecar and the plugin)");
    }
    return json{{"version", ctl::kProtocolVersion}, {"server", "rocksdr-plugin"}};
  }

  const std::string path_;
  const ControlServerOptions options_;
  plugin::ControlHandler handler_;

  int listen_fd_ = -1;
  int wake_read_ = -1;
  int wake_write_ = -1;
  bool bound_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::list<Conn> conns_;  // GUARDED_BY(mu_)

  std::mutex stop_mu_;
  bool stopped_ = false;  // GUARDED_BY(stop_mu_)
};

}  // namespace

Result<std::unique_ptr<ControlServer>> StartControlServer(Replicator* replicator, const std::string& socket_path,
                                                          const ControlServerOptions& options) {
  if (replicator == nullptr) return Status::InvalidArgument("StartControlServer: replicator is null");
  if (options.max_connections == 0) return Status::InvalidArgument("ControlServerOptions.max_connections is 0");
  auto server = std::make_unique<ControlServerImpl>(replicator, socket_path, options);
  Status s = server->Start();
  if (!s.ok()) {
    server->Stop();
    return s;
  }
  return std::unique_ptr<ControlServer>(std::move(server));
}

}  // namespace rocksdr
