// Implementation of rocksdr/replication/control_io.h.
#include "rocksdr/replication/control_io.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/replication/control_protocol.h"

namespace rocksdr::replication::control {

namespace {

std::string Errno(int e) { return std::strerror(e); }

// Waits until fd has `events`. OK, or kDeadlineExceeded / kAborted / kIOError.
Status WaitFor(int fd, short events, Clock::time_point deadline, int wake_fd) {
  for (;;) {
    const auto now = Clock::now();
    if (now >= deadline) return Status::DeadlineExceeded("control socket: timed out");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, wake_fd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 60000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("control socket: poll: " + Errno(errno));
    }
    if (n == 0) continue;
    if (wake_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      return Status::Aborted("control socket: stopping");
    }
    if (fds[0].revents != 0) return Status::OK();  // readable/writable, or HUP/ERR: the syscall says which
  }
}

// Reads exactly n bytes. *eof_at_start: the stream ended before the first byte.
Status ReadExact(int fd, char* buf, size_t n, Clock::time_point deadline, int wake_fd, bool* eof_at_start) {
  size_t got = 0;
  if (eof_at_start != nullptr) *eof_at_start = false;
  while (got < n) {
    ROCKSDR_RETURN_IF_ERROR(WaitFor(fd, POLLIN, deadline, wake_fd));
    const ssize_t r = ::recv(fd, buf + got, n - got, MSG_DONTWAIT);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) {
      if (got == 0 && eof_at_start != nullptr) {
        *eof_at_start = true;
        return Status::OK();
      }
      return Status::Unavailable("control socket: the peer closed the connection in the middle of a message");
    }
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    if (errno == ECONNRESET || errno == EPIPE) return Status::Unavailable("control socket: connection reset");
    return Status::IOError("control socket: recv: " + Errno(errno));
  }
  return Status::OK();
}

}  // namespace

Status WriteAll(int fd, std::string_view bytes, Clock::time_point deadline, int wake_fd) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ROCKSDR_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline, wake_fd));
    const ssize_t w = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0) {
      sent += static_cast<size_t>(w);
      continue;
    }
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    if (errno == EPIPE || errno == ECONNRESET) return Status::Unavailable("control socket: the peer closed the connection");
    return Status::IOError("control socket: send: " + Errno(errno));
  }
  return Status::OK();
}

Result<std::optional<std::string>> ReadMessage(int fd, Clock::time_point start_deadline,
                                               std::chrono::milliseconds rest_timeout, int wake_fd) {
  uint8_t header[4];
  bool eof = false;
  // The first byte may take until start_deadline; the rest of the message is bounded separately.
  ROCKSDR_RETURN_IF_ERROR(ReadExact(fd, reinterpret_cast<char*>(header), 1, start_deadline, wake_fd, &eof));
  if (eof) return std::optional<std::string>();
  const auto deadline = Clock::now() + rest_timeout;
  ROCKSDR_RETURN_IF_ERROR(ReadExact(fd, reinterpret_cast<char*>(header) + 1, 3, deadline, wake_fd, nullptr));
  auto n = DecodeHeader(header);
  if (!n.ok()) return n.status();
  std::string body(*n, '\0');
  Status s = ReadExact(fd, body.data(), body.size(), deadline, wake_fd, nullptr);
  if (!s.ok()) {
    crypto::Zeroize(body.data(), body.size());
    return s;
  }
  return std::optional<std::string>(std::move(body));
}

Result<uid_t> PeerUid(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::IOError("control socket: SO_PEERCRED: " + Errno(errno));
  }
  return cred.uid;
}

}  // namespace rocksdr::replication::control
