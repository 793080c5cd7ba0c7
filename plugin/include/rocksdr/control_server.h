// rocksdr::ControlServer — the plugin's local control socket: how the sidecar drives one
// Replicator (role changes, status) and reads/writes rocksdr's two reserved stores. The sidecar's
// side is rocksdr/sidecar/plugin_control_client.h; the wire format is replication/PROTOCOL.md,
// "Control socket".
//
//   auto r = rocksdr::Replicator::Open(spec);
//   auto cs = rocksdr::StartControlServer(r->get(), "/run/app/rocksdr.sock");
//   ...
//   (*cs)->Stop();            // before the Replicator is destroyed
//
// Security: the socket is a Unix socket file of mode 0600, bound under umask 077; its parent
// directory must be owned by this user or root and must not be writable by others unless it is
// sticky (/tmp); every connection's peer (SO_PEERCRED) must run as this uid or root, others are
// answered permission-denied and closed. A stale socket file at the path is removed only if it is
// a socket nobody answers on; any other file is left alone and reported.
//
// Concurrency: one accept thread plus one thread per connection (at most max_connections; the
// next is answered resource-exhausted and closed). Requests of one connection are served in order;
// the Replicator serializes role changes itself.
//
// Who may call: the application, from any thread. The Replicator must outlive the server (call
// Stop() or destroy the server first). Stop() returns once every thread has exited: at most the
// duration of requests in progress (a role change in progress is finished, not interrupted).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "rocksdr/replicator.h"
#include "rocksdr/status.h"

namespace rocksdr {

struct ControlServerOptions {
  // Concurrent connections served; more are refused.
  size_t max_connections = 16;
  // An idle connection is closed after this long (the client reconnects on its next call).
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
  // Once a request started arriving it must be complete within this; same for writing a response.
  std::chrono::milliseconds io_timeout{std::chrono::seconds(10)};
  // Replication listen address ("host:port") used by enable_primary / promote. Empty: the
  // plugin options' replication.listen_address.
  std::string replication_listen_address;
  // Check that the primary's certificate names the host of the bundle's replication address.
  bool verify_primary_host = true;
};

class ControlServer {
 public:
  virtual ~ControlServer() = default;
  virtual const std::string& path() const = 0;
  // Connections currently served.
  virtual size_t connections() const = 0;
  // Stops accepting, closes every connection, joins the threads, removes the socket file.
  // Idempotent; the destructor calls it.
  virtual void Stop() = 0;
};

// Binds `socket_path` and starts serving `replicator`.
// Errors: kInvalidArgument (path empty or too long for a Unix socket), kPermissionDenied (parent
// directory writable by others without the sticky bit, or owned by another user), kAlreadyExists
// (another process answers on the path), kFailedPrecondition (the path exists and is not a
// socket), kIOError.
Result<std::unique_ptr<ControlServer>> StartControlServer(Replicator* replicator, const std::string& socket_path,
                                                          const ControlServerOptions& options = {});

}  // namespace rocksdr
