// Status snapshots of replication links, for the sidecar's status API, the CLI and the UI.
//
// Primary side: one SecondaryLinkStatus per secondary id PrimaryServer has seen (kept after
// the connection closes, so a down secondary still shows, with its last error).
// Secondary side: SecondaryClientStatus, whose `state` is the replica's whole life as one
// ordered enum (after Redis's repl_state): connecting -> handshaking -> (bootstrapping) ->
// streaming, with every failure going to kIdleWithError and then back to kConnecting.
//
// Who may use: anyone; plain value types, copied out under the owner's lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rocksdr::replication {

using SystemTime = std::chrono::system_clock::time_point;

// ---- primary side ----

enum class LinkState {
  kHandshaking,    // TLS done, waiting for / answering HELLO
  kBootstrapping,  // streaming a checkpoint
  kStreaming,      // shipping batches
  kDisconnected,   // no live connection (see last_error)
};
std::string_view LinkStateName(LinkState s);

struct SecondaryLinkStatus {
  std::string secondary_id;
  std::string peer_address;  // "ip:port" of the last connection
  LinkState state = LinkState::kDisconnected;
  uint64_t secondary_epoch = 0;
  uint64_t sent_sequence = 0;     // last sequence sent
  uint64_t acked_sequence = 0;    // last sequence the secondary applied
  uint64_t durable_sequence = 0;  // last sequence the secondary made durable
  uint64_t primary_sequence = 0;  // primary's latest sequence when this was taken
  uint64_t lag_sequences = 0;     // primary_sequence - acked_sequence
  uint64_t unacked_bytes = 0;     // frame bytes sent and not yet ACKed (<= max_unacked_bytes)
  uint64_t bytes_sent = 0;        // frame bytes sent on this connection
  uint64_t batches_frames_sent = 0;  // BATCHES frames sent on this connection (bytes_sent / this
                                     // is the average frame: see limits.busy_frame_interval_us)
  uint64_t received_frames = 0;   // RECEIVED frames on this connection (ack mode `received`)
  // Age of the oldest batch sent and not acknowledged, in ms (0 when everything is ACKed):
  // how far behind the secondary is in time.
  uint64_t lag_ms = 0;
  std::optional<SystemTime> last_ack_time;
  std::optional<SystemTime> last_frame_time;  // any frame received (ACK, heartbeat reply)
  std::optional<SystemTime> connected_since;
  // Bootstrap progress (state kBootstrapping, or the last one).
  uint64_t bootstrap_bytes_sent = 0;
  uint64_t bootstrap_bytes_total = 0;
  std::string bootstrap_reason;  // why the last bootstrap happened ("" if none)
  std::string last_error;        // why the last connection ended ("" if none)
  uint64_t connections = 0;      // handshakes accepted so far
};

// ---- secondary side ----

enum class ClientState {
  kConnecting,     // TCP connect + TLS handshake (with backoff between attempts)
  kHandshaking,    // HELLO sent, waiting for WELCOME and STREAM/BOOTSTRAP
  kBootstrapping,  // receiving a checkpoint
  kStreaming,      // applying batches
  kIdleWithError,  // waiting before the next attempt, or stopped by an error (see last_error)
  kStopped,        // Stop() called, or never started
};
std::string_view ClientStateName(ClientState s);

struct SecondaryClientStatus {
  ClientState state = ClientState::kStopped;
  std::string primary_address;  // "host:port" currently targeted
  std::optional<uint64_t> cursor;   // sink's cursor
  uint64_t durable_sequence = 0;
  uint64_t primary_sequence = 0;    // latest sequence announced by the primary (heartbeats)
  uint64_t primary_epoch = 0;       // epoch of the primary we accepted
  std::optional<SystemTime> last_frame_time;  // last frame received from the primary
  std::optional<SystemTime> primary_clock;    // primary's clock in its last heartbeat
  uint64_t bootstrap_bytes_received = 0;
  uint64_t bootstrap_bytes_total = 0;
  std::string bootstrap_reason;
  uint64_t connect_attempts = 0;  // since the last successful handshake
  uint64_t reconnects = 0;        // successful handshakes after the first
  // True when an error stopped replication for good (refused epoch, fenced, revoked, a stream
  // the sink refuses): the client does not retry until restarted.
  bool halted = false;
  std::string last_error;
  // While waiting before the next attempt (state kIdleWithError, not halted): when it starts.
  std::optional<SystemTime> next_attempt_time;
  // The local storage (the sink) failed (disk full, RocksDB read-only after a background error):
  // the client waits with its storage backoff, asks the sink to recover, then reconnects
  // (sink_retry.h). Cleared by the first successful apply or bootstrap install after it.
  bool local_storage_failed = false;
  std::string local_storage_error;  // what failed ("" when local_storage_failed is false)
  uint32_t storage_retry_attempt = 0;  // the number of the next (or running) storage retry
};

}  // namespace rocksdr::replication
