// Idle TCP connections for tests of connection limits: a plain connection to 127.0.0.1:port made
// from another loopback address (the whole of 127.0.0.0/8 is local on Linux), which sends nothing,
// and a non-blocking check whether the server closed it.
//
// Who may call: tests only, any thread (plain POSIX calls on the caller's descriptors).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace rocksdr::testing {

// A connected socket from `source` (e.g. "127.0.0.2") to 127.0.0.1:port; -1 if it cannot be made.
// The caller closes it.
inline int ConnectFrom(const char* source, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True if the server closed `fd` (end of stream or reset); does not block. Consumes at most one
// byte of data the server sent.
inline bool ClosedByPeer(int fd) {
  char b;
  const ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace rocksdr::testing
