// rocksdr::PluginOptions — how the plugin replicates one RocksDB database, and its YAML form.
//
// Every field says its default. Options are validated as a whole by ValidatePluginOptions (Open
// and Attach call it); LoadPluginOptionsFromYaml parses and validates a file and reports the
// first problem as "<file>:<line>:<column>: <reason>".
//
// YAML layout (every key optional; unknown keys, duplicate keys, wrong types and out-of-range
// values are refused):
//
//   role: primary                 # disabled | primary | secondary
//   state_dir: /var/lib/app/rocksdr
//   control_socket: /run/app/rocksdr.sock
//   auto_rebootstrap: true
//   replication:
//     listen_address: "0.0.0.0:8201"     # host:port, port 0 = any free port; IPv6 as [::1]:8201
//     tls: { cert_file: a.pem, key_file: a.key, ca_file: ca.pem }
//   wal_retention: { ttl_seconds: 86400, size_mb: 10240 }
//   limits:
//     max_frame_bytes: 4194304
//     max_batch_bytes: 262144
//     max_batch_delay_us: 1000
//     busy_frame_interval_us: 250
//     max_unacked_bytes: 67108864
//     heartbeat_interval_ms: 1000
//     peer_timeout_ms: 10000
//     storage_retry_initial_ms: 1000
//     storage_retry_max_ms: 30000
//     write_ring_bytes: 16777216
//   ack:                          # synchronous replication (README "Synchronous replication")
//     mode: async                 # async | received | durable
//     count: 1                    # secondaries that must confirm each write
//     timeout_ms: 5000
//     on_timeout: fail            # fail | degrade
//   preload:                      # LD_PRELOAD route (README "Replicating an unmodified application")
//     databases: [/data/app]      # absolute DB paths attached as a DR primary when opened
//     cluster_id: dr-cluster      # required with databases
//     epoch: 1
//     on_error: fail              # fail | continue
//     close_wait: { timeout_ms: 5000, secondaries: 0 }
//
// Who may call: anyone, any thread (value type and pure functions; the loader reads one file).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rocksdr/role.h"
#include "rocksdr/status.h"

namespace rocksdr {

// When a write on a primary returns to the application (synchronous replication).
enum class AckMode : uint8_t {
  kAsync,     // at once; secondaries follow asynchronously (a failover may lose the last writes)
  kReceived,  // after `ack_count` secondaries have RECEIVED the write's batch (in their memory)
  kDurable,   // after `ack_count` secondaries have applied and synced it (on their disk)
};
// What a synchronous write does when its confirmation does not come within ack_timeout_ms.
enum class AckTimeoutPolicy : uint8_t {
  kFail,     // the write returns TimedOut (it IS on the primary, NOT confirmed on a secondary)
  kDegrade,  // the write returns OK; the DB switches to async (logged, shown in status) until
             // enough secondaries catch up, then back to the configured mode by itself
};
std::string_view AckModeName(AckMode mode);              // "async" | "received" | "durable"
Result<AckMode> ParseAckMode(std::string_view name);
std::string_view AckTimeoutPolicyName(AckTimeoutPolicy p);  // "fail" | "degrade"
Result<AckTimeoutPolicy> ParseAckTimeoutPolicy(std::string_view name);

// What the LD_PRELOAD library does when it cannot attach replication to a DB it should.
enum class PreloadOnError : uint8_t {
  kFail,      // the application's DB::Open returns the error (also printed on stderr)
  kContinue,  // the application gets its DB, unreplicated, with a loud warning on stderr and
              // "replicated": false plus the reason in <state dir>/preload-status.json
};
std::string_view PreloadOnErrorName(PreloadOnError e);  // "fail" | "continue"
Result<PreloadOnError> ParsePreloadOnError(std::string_view name);

// The LD_PRELOAD route (plugin/preload/, librocksdr_preload.so): which DBs an unmodified
// application replicates as a DR primary. Only the preloaded library reads this section.
struct PreloadOptions {
  // Absolute paths of the DB directories to attach to when the application opens them with
  // rocksdb::DB::Open (compared after resolving symlinks, "." and ".."); at most 64. Any other
  // DB the application opens is passed through untouched. With more than one entry, state_dir
  // and control_socket must be empty (each DB gets "<db path>.rocksdr") and the replication
  // listen port must be 0 (each DB gets its own port; see preload-status.json).
  // Default: none
  std::vector<std::string> databases;

  // The cluster the primary serves ([0-9A-Za-z-], at most 64 bytes). Required with databases.
  // Default: ""
  std::string cluster_id;

  // Epoch of a new history (a DB that is not primary of cluster_id yet). A DB created again at
  // a path that already had a history (DestroyDB, then create) starts at the epoch after the
  // one recorded in "<state dir>/preload-epoch", so its secondaries are bootstrapped instead of
  // resuming at a position of the destroyed history. 1 .. 2^56-1.
  // Default: 1
  uint64_t epoch = 1;

  // Default: kFail
  PreloadOnError on_error = PreloadOnError::kFail;

  // When the application closes a replicated DB, wait at most close_wait_ms (<= 10 min) until
  // every connected secondary has acknowledged the DB's last sequence and at least
  // close_wait_secondaries (<= 64) secondaries are connected and caught up; then close anyway,
  // naming each secondary that was behind. 0 ms: close at once (the unshipped tail waits for
  // the next open).
  // Default: 5000 ms and 0 secondaries
  uint64_t close_wait_ms = 5000;
  uint64_t close_wait_secondaries = 0;
};

// Checks `preload` against the rest of `options` (ValidatePluginOptions calls it).
// kInvalidArgument whose message starts with "preload.<field>".
struct PluginOptions;
Status ValidatePreloadOptions(const PluginOptions& options);

struct PluginOptions {
  // Role taken at open when this node has no role persisted yet. Once a role is persisted (by
  // enabling, promotion, demotion) the persisted role wins: the control plane, not the config
  // file, moves a node between roles.
  // Default: Role::kDisabled
  Role role = Role::kDisabled;

  // Directory for node-local files that are not in the DB: bootstrap staging, the default
  // control socket. Must be on the same filesystem as the DB (bootstrap installs by rename).
  // Default: "" (= "<db path>.rocksdr", see ResolveStateDir)
  std::string state_dir;

  // Unix socket on which the plugin serves its local control API to the sidecar.
  // At most 107 bytes (sockaddr_un).
  // Default: "" (= "<state dir>/control.sock")
  std::string control_socket_path;

  // Address the primary listens on for secondaries: "host:port" or "[v6-address]:port".
  // Port 0 asks the OS for a free port (tests). Empty: no listener (a secondary, or a primary
  // whose transport is configured elsewhere).
  // Default: ""
  std::string replication_listen_address;

  // PEM files of this node's replication TLS identity and of the CA that signs its peers.
  // Empty: use the credentials received at activation (kept in the node-local column family).
  // Default: "" (each)
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_file;

  // WAL retention: the window within which a lagging or reconnecting secondary can resume
  // without a full re-bootstrap. Applied as DBOptions::WAL_ttl_seconds / WAL_size_limit_MB by
  // Open; Attach requires the opened DB to retain at least this much. A WAL file is removed
  // when it is older than the TTL or when the archive exceeds the size limit; 0 turns that
  // bound off, and at least one of the two must be non-zero.
  // Default: 86400 seconds (1 day) and 10240 MB
  uint64_t wal_ttl_seconds = 86400;
  uint64_t wal_size_limit_mb = 10240;

  // Largest frame the transport sends or accepts (64 KiB .. 64 MiB). A single WAL batch larger
  // than this cannot be shipped: the secondary then needs a bootstrap.
  // Default: 4 MiB
  uint64_t max_frame_bytes = 4 << 20;

  // Coalescing: consecutive WAL batches are sent together until this many bytes
  // (<= max_frame_bytes) ...
  // Default: 256 KiB
  uint64_t max_batch_bytes = 256 << 10;

  // ... or until the first batch has waited this long (0 .. 1 s; 0 = send at once). It waits
  // only while an earlier frame is un-ACKed: on an idle link a frame is sent at once.
  // Default: 1000 microseconds
  uint64_t max_batch_delay_us = 1000;

  // Pacing of a busy link (0 .. 1 s; 0 = off): once a frame had to wait (for an earlier frame's
  // ACK, or for this interval), the next one is sent no sooner than this long after the previous
  // one (and no later than max_batch_delay_us). A writer that keeps the link busy then ships
  // fewer, larger frames (less TLS, syscall and ACK work per write on both sites) for at most
  // this much more lag. Under a heavy load (busy frames of 64 batches or more) the interval
  // doubles per frame up to max_batch_delay_us, and a lighter frame restores it. The link is idle
  // again, and a write goes at once, when everything is ACKed and the last frame went at least
  // this long ago (replication/PROTOCOL.md, "Flow control"). Status: bytes_sent / frames_sent per
  // secondary.
  // Default: 250 microseconds
  uint64_t busy_frame_interval_us = 250;

  // Flow control: the primary stops sending to a secondary once this many bytes are sent but
  // not acknowledged (>= max_frame_bytes, <= 4 GiB).
  // Default: 64 MiB
  uint64_t max_unacked_bytes = 64 << 20;

  // Heartbeats on an idle connection (10 ms .. 60 s), and the silence after which a peer is
  // considered dead (> 2 heartbeat intervals, <= 10 min).
  // Default: 1000 ms and 10000 ms
  uint64_t heartbeat_interval_ms = 1000;
  uint64_t peer_timeout_ms = 10000;

  // A secondary whose local storage failed (a full disk: README "Troubleshooting") waits this
  // long before its first retry (10 ms .. 10 min), doubling per failed attempt up to the max
  // (>= the first delay, <= 1 h). A smaller max means a freed disk is used sooner, for more
  // frequent attempts (each one a DB::Resume or reopen, and a reconnect) while it stays full.
  // The same delays pace a promoted node's attempts to reopen a DB its promotion left closed
  // (README "Restarts").
  // Default: 1000 ms and 30000 ms
  uint64_t storage_retry_initial_ms = 1000;
  uint64_t storage_retry_max_ms = 30000;

  // Memory a primary keeps for the batches it wrote recently (0 .. 1 GiB; 0 = off), so that its
  // WAL tailers ship them from memory instead of reading the WAL back; secondaries that are
  // behind what it holds, and writes that bypass the wrapper, are read from the WAL as before
  // (README "Performance"). Batches larger than 1/8 of it are not kept.
  // Default: 16 MiB
  uint64_t write_ring_bytes = 16 << 20;

  // When a secondary falls out of the WAL window (or after an external file ingestion), the
  // primary re-bootstraps it from a checkpoint without operator action.
  // Default: true
  bool auto_rebootstrap = true;

  // The LD_PRELOAD route (YAML `preload`); see PreloadOptions.
  PreloadOptions preload;

  // Synchronous replication (YAML `ack`). In a mode other than async, every successful write
  // on a primary waits until `ack_count` (1..64) secondaries confirm its own batch (received
  // or durable), at most `ack_timeout_ms` (1 ms .. 10 min); then `ack_on_timeout` decides.
  // Concurrent writers share confirmations (one ACK covers every sequence up to it). Frames
  // are then sent without coalescing delay (limits.max_batch_delay_us and
  // busy_frame_interval_us are ignored). Only the Replicator runtime feeds confirmations: a
  // DB opened with rocksdr::Open alone has no secondaries, so its synchronous writes time out.
  // Default: async, 1, 5000 ms, fail
  AckMode ack_mode = AckMode::kAsync;
  uint64_t ack_count = 1;
  uint64_t ack_timeout_ms = 5000;
  AckTimeoutPolicy ack_on_timeout = AckTimeoutPolicy::kFail;
};

// Checks ranges and cross-field rules. kInvalidArgument whose message starts with the YAML
// name of the offending field (e.g. "limits.max_batch_bytes ...").
Status ValidatePluginOptions(const PluginOptions& options);

// state_dir, or "<db_path>.rocksdr" when it is empty.
std::string ResolveStateDir(const PluginOptions& options, const std::string& db_path);
// control_socket_path, or "<ResolveStateDir>/control.sock" when it is empty.
std::string ResolveControlSocketPath(const PluginOptions& options, const std::string& db_path);

// Files larger than this are refused before parsing.
inline constexpr size_t kMaxPluginOptionsFileBytes = 1 << 20;

// Reads, parses and validates a YAML file (layout above). Errors: kNotFound / kIOError when
// the file cannot be read, kInvalidArgument "<path>:<line>:<column>: <reason>" otherwise.
Result<PluginOptions> LoadPluginOptionsFromYaml(const std::string& path);

// The same from text; `source_name` replaces the path in messages.
Result<PluginOptions> ParsePluginOptionsYaml(const std::string& text, const std::string& source_name);

}  // namespace rocksdr
