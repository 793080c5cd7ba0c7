// ListenerSocket: a TCP socket bound to an address and listening, that nobody accepts on yet —
// an address reserved for a PrimaryServer that starts later.
//
// Why: a role change that makes a node a primary (Replicator::Promote, BecomePrimary) has a step
// it cannot undo (the promotion's epoch marker starts a new history). The likeliest failure of
// the server that follows — its listen address is taken, or is not an address of this host — is
// found by binding the address *before* that step, so the change is refused with nothing changed
// instead of leaving a primary without its listener. PrimaryServerOptions::listener hands the
// socket to the server, which then accepts on it (connections that arrive in between wait in the
// listen backlog).
//
// Who may call: anyone; a plain movable value with one owner (not thread-safe). The destructor
// closes a socket that was not handed over.
#pragma once

#include <cstdint>
#include <string>

#include "rocksdr/status.h"

namespace rocksdr::replication {

class ListenerSocket {
 public:
  // Binds host:port (host: an IPv4 or IPv6 address; port 0: any free port) with SO_REUSEADDR and
  // listens. Errors: kInvalidArgument (host is not an IP address), kUnavailable (cannot bind or
  // listen: the message names the address and the system's reason, e.g. "Address already in use").
  static Result<ListenerSocket> Open(const std::string& host, uint16_t port);

  ListenerSocket() = default;
  ListenerSocket(ListenerSocket&& other) noexcept;
  ListenerSocket& operator=(ListenerSocket&& other) noexcept;
  ListenerSocket(const ListenerSocket&) = delete;
  ListenerSocket& operator=(const ListenerSocket&) = delete;
  ~ListenerSocket();

  bool valid() const { return fd_ >= 0; }
  bool ipv6() const { return ipv6_; }
  // The bound port (the real one when Open was given port 0).
  uint16_t port() const { return port_; }
  // Gives up ownership: returns the descriptor (-1 if none) and leaves this object empty.
  int Release();

 private:
  int fd_ = -1;
  bool ipv6_ = false;
  uint16_t port_ = 0;
};

}  // namespace rocksdr::replication
