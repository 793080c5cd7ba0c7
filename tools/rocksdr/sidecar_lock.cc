// Implementation of sidecar_lock.h.
#include "sidecar_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace rocksdr::cli {

SidecarLock::~SidecarLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

Status SidecarLock::Acquire(const std::string& control_socket) {
  const std::string path = control_socket + ".sidecar.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) {
      note_ = "the control socket's directory does not exist yet, so whether another rocksdr server drives this "
              "plugin was not checked (" + path + ")";
      return Status::OK();
    }
    return Status::IOError("cannot open " + path + " (one rocksdr server per control socket): " + std::strerror(e));
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
    return Status::IOError("cannot lock " + path + ": " + std::strerror(e));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock holds; only the pid shown to a second server is missing.
  }
  fd_ = fd;
  return Status::OK();
}

}  // namespace rocksdr::cli
