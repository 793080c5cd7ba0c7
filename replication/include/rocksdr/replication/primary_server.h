// PrimaryServer: the primary's replication listener. Accepts mutual-TLS connections from DR
// secondaries and runs one ShipperSession per connection, which ships the WAL (through a
// SourceProvider) to that secondary, or bootstraps it from a checkpoint first.
//
// Per connection (see replication/PROTOCOL.md for the frames):
//   TLS 1.3 handshake (client certificate verified against the replication CA; refusals are
//   logged with the reason) -> HELLO -> checks, in order: protocol version, cluster id (HELLO
//   and, if present, the certificate's cluster URI SAN), the certificate names the secondary id
//   (CN, if require_certificate_names_secondary), not revoked, `authorize` callback, epoch ->
//   WELCOME(STREAM from cursor+1 | BOOTSTRAP with a reason) -> BATCHES / HEARTBEAT frames, ACKs
//   back. A refusal is an ERROR frame with a message, then close.
//
// Epochs (invariant 4): a secondary announcing a NEWER epoch than ours proves this primary was
// superseded: the server becomes fenced — on_fenced(N) runs once so the plugin stops accepting
// writes, and then (so that a reader of it can rely on writes being refused) FencedReason() says
// "fenced: a newer epoch N exists", every session is refused from then on and the open ones close. A secondary with an OLDER epoch is bootstrapped (its
// position may belong to a superseded history; we keep no epoch history to prove otherwise).
//
// Flow control: per session at most min(max_unacked_bytes, the secondary's HELLO window) frame
// bytes are sent and not yet ACKed (plus one frame and heartbeats); the pump thread waits for
// ACKs, so a slow secondary makes the primary read its WAL later, and nothing queues unboundedly.
//
// Threads: `io_threads` threads run the network; each session has a pump thread that does all
// the blocking work (OpenAt, WaitForWrites, Read, checkpoint reads) and hands encoded frames to
// the session's strand. Public methods are thread-safe. Stop() (also run by the destructor)
// closes the listener and every session, joins every thread, and returns within about
// 1 s + the longest blocking call of the source.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rocksdr/replication/batch_source.h"
#include "rocksdr/replication/protocol_limits.h"
#include "rocksdr/replication/listener_socket.h"
#include "rocksdr/replication/session_status.h"
#include "rocksdr/replication/tls_context.h"
#include "rocksdr/status.h"

namespace rocksdr::replication {

// How far one secondary has got, as its RECEIVED and ACK frames report it (synchronous
// replication waits on these). received_sequence >= applied_sequence >= durable_sequence are
// not guaranteed across a reconnect: each value is the latest one reported.
struct SecondaryProgress {
  uint64_t received_sequence = 0;  // RECEIVED (protocol >= 2), or the applied sequence (v1 peers)
  uint64_t applied_sequence = 0;   // ACK applied_sequence
  uint64_t durable_sequence = 0;   // ACK durable_sequence
};

struct PrimaryServerOptions {
  // This cluster's id; HELLOs naming another are refused. Required.
  std::string cluster_id;
  // This primary's epoch. Default: 1.
  uint64_t epoch = 1;
  // Listen address. Default: 127.0.0.1, port 0 (any free port; see PrimaryServer::port()).
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  // A socket already bound and listening (ListenerSocket::Open, called earlier by a role change
  // so that a taken address fails it before it changes anything): the server accepts on it and
  // ignores listen_host/listen_port except in its log lines. nullptr or empty: Start binds
  // listen_host:listen_port itself. Start takes the descriptor over (the object is left empty).
  std::shared_ptr<ListenerSocket> listener;
  // Server certificate + key + replication CA. Required.
  TlsCredentials tls;
  // Codec limits. Default: ProtocolLimits().
  ProtocolLimits limits;
  // Most frame bytes sent and not yet ACKed, per secondary. Default: 8 MiB. Min 64 KiB.
  uint64_t max_unacked_bytes = 8ull << 20;
  // Target size of a BATCHES frame payload (capped by max_frame_payload). Default: 1 MiB.
  size_t target_frame_bytes = 1 << 20;
  // Longest wait of a frame that is not full: while an earlier BATCHES frame is un-ACKed, the
  // pump waits for that ACK (at most this long) and then sends what was written meanwhile; on an
  // idle link a frame is sent at once. 0: never wait. Default: 500 us.
  std::chrono::microseconds coalesce_delay{500};
  // Pacing of a busy link: once a frame had to wait (for an earlier one's ACK, or for this
  // interval), the next frame is sent no sooner than this long after the previous one (and no
  // later than coalesce_delay from the start of its wait), so a link kept busy by a fast writer
  // carries fewer, larger frames: less TLS, syscall and ACK work per write on both sites, for at
  // most this much extra lag. After each busy frame of 64 batches or more the interval doubles,
  // up to coalesce_delay (a lighter frame restores it). A write that finds everything ACKed and
  // the last frame at least busy_frame_interval old goes at once. 0: as soon as the ACK arrives.
  // Default: 0.
  std::chrono::microseconds busy_frame_interval{0};
  // A HEARTBEAT (latest sequence, clock) is sent this often. Default: 1 s.
  std::chrono::milliseconds heartbeat_interval{1000};
  // A secondary from which no frame arrived for this long is disconnected. Default: 10 s.
  std::chrono::milliseconds dead_timeout{10000};
  // TLS handshake + HELLO must complete within this. Default: 5 s.
  std::chrono::milliseconds handshake_timeout{5000};
  // Size of FILE_CHUNK data during bootstrap. Default: 1 MiB (capped by the frame limit).
  size_t bootstrap_chunk_bytes = 1 << 20;
  // Network threads. Default: 1.
  int io_threads = 1;
  // A new connection is refused at accept while this many connections have completed the TLS
  // handshake (those still in it may complete it too: at most max_connections +
  // max_pending_handshakes in all). Default: 64.
  size_t max_connections = 64;
  // Connections still in their TLS handshake (no certificate checked yet) are bounded apart, so
  // that unauthenticated connections — a scan, a flood — do not take the places of secondaries:
  // at most max_pending_per_address from one IP address (more are refused at accept), and at most
  // max_pending_handshakes in all (a newer one closes the oldest). Each is closed after
  // handshake_timeout anyway. A flood from many addresses at a pace faster than a secondary's TLS
  // handshake can still delay it: keep the replication port behind a firewall. Defaults: 32, 4.
  size_t max_pending_handshakes = 32;
  size_t max_pending_per_address = 4;
  // If true, a client certificate's subject CN must equal the HELLO's secondary id, so an id
  // (and Revoke) is bound to the certificate issued for it. Default: true.
  bool require_certificate_names_secondary = true;
  // Decides whether a secondary id may replicate (the sidecar's registry). nullptr: any id
  // that passes the checks above. Runs on a network thread; must be quick and thread-safe.
  std::function<Status(const std::string& secondary_id)> authorize;
  // Called once, when a secondary proves a newer epoch exists, before FencedReason() says so.
  // Runs on a network thread.
  std::function<void(uint64_t newer_epoch)> on_fenced;
  // Ask secondaries for a RECEIVED frame per BATCHES frame (WELCOME flag, protocol >= 3): only
  // synchronous replication in ack mode `received` waits for it; otherwise each one only costs
  // this primary's network thread a frame to decrypt and dispatch. A version-2 secondary sends
  // RECEIVED regardless (it cannot be told). Without RECEIVED, SecondaryProgress::
  // received_sequence follows the ACKs' applied sequence. Default: false.
  bool request_received = false;
  // Called after every ACK and RECEIVED a secondary sends (synchronous replication's feed).
  // Runs on a network thread, per secondary in frame order; must be quick, must not block and
  // must not call back into the server. nullptr: not called.
  std::function<void(const std::string& secondary_id, const SecondaryProgress& progress)> on_progress;
};

class PrimaryServer {
 public:
  // Validates the options, builds the TLS context, binds and listens (or takes over
  // options.listener), starts the threads.
  // Errors: kInvalidArgument (options, credentials), kUnavailable (cannot bind).
  static Result<std::unique_ptr<PrimaryServer>> Start(PrimaryServerOptions options,
                                                      std::shared_ptr<SourceProvider> provider);
  ~PrimaryServer();
  PrimaryServer(const PrimaryServer&) = delete;
  PrimaryServer& operator=(const PrimaryServer&) = delete;

  // The bound port (the real one when listen_port was 0).
  uint16_t port() const;

  // One entry per secondary id seen since Start, sorted by id.
  std::vector<SecondaryLinkStatus> GetStatus() const;

  // "fenced: a newer epoch N exists (announced by secondary X)" once fenced.
  std::optional<std::string> FencedReason() const;

  // Closes every session of secondary_id now (ERROR not-authorized) and refuses it from now on.
  void Revoke(const std::string& secondary_id);

  // Drops the TCP connection(s) of secondary_id without any goodbye, as a network failure
  // would (for operators kicking a stuck link, and for tests). The secondary reconnects.
  void Disconnect(const std::string& secondary_id);

  // Bounded; idempotent. The listen address is free again when it returns.
  void Stop();

 private:
  class Impl;
  explicit PrimaryServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace rocksdr::replication
