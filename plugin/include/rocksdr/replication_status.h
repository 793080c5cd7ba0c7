// rocksdr::ReplicationStatus — a snapshot of one replicated DB's replication state, for the
// sidecar's status API, the CLI and the UI.
//
// The plugin fills what it knows locally (role, epoch, cluster id, sequences, WAL window,
// background errors); the transport fills the per-secondary and bootstrap parts. Fields a
// node cannot know are left at their zero value and documented as such.
//
// Who may use: anyone; plain value type (copy it across threads).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rocksdr/options.h"
#include "rocksdr/role.h"

namespace rocksdr {

// The WAL the primary still holds: secondaries positioned inside it can resume; older
// positions need a bootstrap.
struct WalWindow {
  uint64_t oldest_sequence = 0;   // first sequence still in the WAL (live + archived files)
  uint64_t latest_sequence = 0;   // DB::GetLatestSequenceNumber()
  uint64_t file_count = 0;        // live + archived WAL files
  uint64_t total_bytes = 0;       // their total size
  uint64_t oldest_file_age_seconds = 0;  // age of the oldest archived file; 0 if none or unknown
  uint64_t ttl_seconds = 0;       // the DB's WAL_ttl_seconds (0 = no time bound)
  uint64_t size_limit_mb = 0;     // the DB's WAL_size_limit_MB (0 = no size bound)
};

enum class ConnectionState : uint8_t {
  kDisconnected,   // no session (never connected, or dropped and waiting to retry)
  kConnecting,     // TCP/TLS handshake in progress
  kBootstrapping,  // receiving / sending a checkpoint
  kStreaming,      // shipping WAL batches
  kNeedsBootstrap, // fell out of the WAL window (or ingestion); waiting for a bootstrap
  kRevoked,        // the primary revoked this secondary
};

struct SecondaryStatus {
  std::string id;
  ConnectionState state = ConnectionState::kDisconnected;
  uint64_t acked_sequence = 0;      // last sequence the secondary applied
  uint64_t durable_sequence = 0;    // last sequence the secondary has synced
  uint64_t lag_sequences = 0;       // primary latest - acked
  uint64_t lag_bytes = 0;           // WAL bytes shipped but not acknowledged + not yet shipped
  uint64_t lag_ms = 0;              // age of the oldest unacknowledged batch
  uint64_t bytes_sent = 0;          // frame bytes sent on the current connection
  uint64_t frames_sent = 0;         // BATCHES frames sent on it: bytes_sent / frames_sent is the
                                    // average frame (limits.busy_frame_interval_us, max_batch_*)
  int64_t last_heartbeat_unix_ms = 0;  // 0 = never
  std::string needs_bootstrap_reason;  // set when state == kNeedsBootstrap
};

struct BootstrapProgress {
  bool active = false;
  uint64_t checkpoint_sequence = 0;
  uint64_t files_done = 0;
  uint64_t files_total = 0;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  std::string reason;        // why the last bootstrap happened ("" if none)
  uint64_t bootstraps = 0;   // bootstraps completed by this node since it started
};

// A secondary's link to its primary (filled by the Replicator runtime; empty on a primary).
struct PrimaryLinkStatus {
  ConnectionState state = ConnectionState::kDisconnected;
  std::string primary_address;  // "host:port"
  uint64_t primary_epoch = 0;   // epoch of the primary last accepted
  uint64_t primary_sequence = 0;  // primary's latest sequence as last announced
  uint64_t lag_sequences = 0;   // primary_sequence - applied cursor (0 when unknown)
  int64_t last_heartbeat_unix_ms = 0;  // last frame from the primary; 0 = never
  uint64_t reconnects = 0;
  bool halted = false;          // stopped for good until restarted (see last_error)
  std::string last_error;
  // Waiting before the next attempt (after any failure that is retried): when it starts.
  int64_t next_retry_unix_ms = 0;  // 0 = not waiting
  uint64_t retry_in_ms = 0;        // next_retry_unix_ms - now, when this was taken
  // This secondary's own storage failed (disk full, RocksDB read-only): the link retries with a
  // backoff (1 s doubling to 30 s), first clearing the DB's error (DB::Resume), until space is
  // freed; last_error says what failed, when the next attempt is and where to free space.
  bool local_storage_failed = false;
  std::string local_storage_error;  // what failed ("" when local_storage_failed is false)
  uint32_t storage_retry_attempt = 0;  // the number of the next storage retry
};

// Synchronous replication on a primary (PluginOptions ack_*; README "Synchronous replication").
struct SyncReplicationStatus {
  AckMode mode = AckMode::kAsync;        // configured mode
  uint64_t count = 1;                    // secondaries that must confirm
  uint64_t timeout_ms = 0;
  AckTimeoutPolicy on_timeout = AckTimeoutPolicy::kFail;
  bool degraded = false;                 // policy degrade fired: writes are async until caught up
  int64_t degraded_since_unix_ms = 0;    // 0 when not degraded
  std::string degraded_reason;           // "" when not degraded
  uint64_t confirmed_sequence = 0;       // the count-th best confirmation
  uint64_t writes_waiting = 0;           // writes waiting for confirmation now
  uint64_t writes_confirmed = 0;         // since open
  uint64_t writes_unconfirmed = 0;       // returned OK while degraded, since open
  uint64_t timeouts = 0;                 // waits that timed out (either policy), since open
  uint64_t degradations = 0;             // times the DB degraded to async, since open
};

// Where a primary's WAL tailers took the batches they shipped (all secondaries, since open;
// PluginOptions::write_ring_bytes). Ring misses, WAL batches and iterator creations are normal
// during catch-up and after writes that bypass the wrapper; in a steady stream they stay flat.
struct ShippingStatus {
  uint64_t ring_capacity_bytes = 0;  // 0: no ring (every batch is read from the WAL)
  uint64_t ring_bytes = 0;           // held now (reps + per-entry overhead)
  uint64_t ring_entries = 0;
  uint64_t ring_batches = 0;         // batches shipped from the ring
  uint64_t wal_batches = 0;          // batches shipped from the WAL
  uint64_t ring_misses = 0;          // positions written but not in the ring (read from the WAL)
  uint64_t ring_waits = 0;           // waits for a writer still recording the batch needed
  uint64_t trims = 0;                // group-commit WAL records shipped from inside
  uint64_t iterator_creations = 0;   // DB::GetUpdatesSince calls
};

struct ReplicationStatus {
  Role role = Role::kDisabled;
  uint64_t epoch = 0;
  std::string cluster_id;

  uint64_t last_sequence_written = 0;               // this DB's latest sequence
  std::optional<uint64_t> last_sequence_applied;    // secondary: the applied cursor, if any

  WalWindow wal;                                    // meaningful on a primary
  std::vector<SecondaryStatus> secondaries;         // primary: filled by the transport
  BootstrapProgress bootstrap;                      // secondary: filled by the transport
  PrimaryLinkStatus primary_link;                   // secondary: filled by the transport

  // Why application writes are refused on this primary ("" if they are not): set when a
  // secondary proved that a newer epoch exists (invariant 4); cleared by demotion or re-enable.
  std::string fenced_reason;

  SyncReplicationStatus sync;         // primary: synchronous replication (mode async = off)
  ShippingStatus shipping;            // primary: where shipped batches came from

  uint64_t external_ingestions = 0;   // IngestExternalFile calls seen (each forces re-bootstraps)
  bool listener_attached = false;     // the `rocksdr` EventListener is registered on this DB
  std::string background_error;       // last RocksDB background error, empty if none
};

}  // namespace rocksdr
