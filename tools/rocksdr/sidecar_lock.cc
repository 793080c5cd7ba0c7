// Implementation of sidecar_lock.h.
#include "sidecar_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace rocksdr::cli {

SidecarLock::~SidecarLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Status SidecarLock::Acquire(const std::string& control_socket) {
  // One lock file per socket however the path is spelt (relative, through a symlinked directory).
  std::error_code ec;
  const std::filesystem::path socket(control_socket);
  const std::filesystem::path dir = std::filesystem::canonical(
      socket.has_parent_path() ? socket.parent_path() : std::filesystem::path("."), ec);
  if (ec) {
    note_ = "the control socket's directory cannot be resolved yet (" + ec.message() +
            "), so whether another rocksdr server drives this plugin was not checked";
    return Status::OK();
  }
  const std::string path = (dir / socket.filename()).string() + ".sidecar.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    // The socket needs only its own permissions; the lock file needs a writable directory (and
    // one that nobody else filled first). Without it, run unchecked rather than not at all.
    const int e = errno;
    note_ = "cannot open " + path + " (" + std::strerror(e) +
            "), so whether another rocksdr server drives this plugin was not checked";
    return Status::OK();
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    std::string holder;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) holder.push_back(buf[i]);
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return Status::FailedPrecondition(
          "another rocksdr server" + (holder.empty() ? std::string() : " (pid " + holder + ")") +
          " already drives the plugin at " + control_socket +
          ": two would both re-arm replication and change roles. Stop it first, or give this one the control "
          "socket of another application");
    }
    // ENOLCK (no lock table, some network file systems) or the like: the same as an unopenable
    // lock file, run unchecked and say so, as the server did before the lock existed.
    note_ = "cannot lock " + path + " (" + std::strerror(e) +
            "), so whether another rocksdr server drives this plugin was not checked";
    return Status::OK();
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock holds; only the pid shown to a second server is missing. Say so in the log.
    const int e = errno;
    note_ = "holding " + path + ", but could not write this server's pid into it (" + std::strerror(e) +
            "): a second server will be refused without being told which process holds it";
  }
  fd_ = fd;
  return Status::OK();
}

}  // namespace rocksdr::cli
