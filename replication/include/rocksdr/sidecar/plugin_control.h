// PluginControl — what the sidecar asks of the plugin that guards one protected DB.
//
// The sidecar never touches RocksDB itself. In production this interface is implemented by a
// client of the plugin's control socket (a Unix socket only its owner can open; protocol in
// replication/PROTOCOL.md, "Control socket"); tests may use an in-memory implementation.
//
// Two stores live in the protected DB and are reached through this interface:
//  - the REPLICATED store (column family __rocksdr_replicated): the sealed keyring, the seal
//    configuration, the token store, the secondary registry. A DR secondary holds an exact replica.
//  - the LOCAL store (column family __rocksdr_local, keys under "sidecar/"): node-local state that is
//    never shipped (this node's activation credentials, its own pre-secondary seal config).
// On a DR secondary, replicated-store writes are refused (kFailedPrecondition): the stream owns it.
//
// Who may call: the sidecar, from any thread; implementations are thread-safe. Every call is bounded
// in time by the implementation (a dead plugin yields kUnavailable, never a hang).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

enum class Store { kReplicated, kLocal };

// What a secondary needs to join a primary: the bundle the primary returns when an activation
// token is unwrapped (see vault-dr-api.md, "Activation token").
struct ActivationBundle {
  std::string cluster_id;
  std::string secondary_id;
  std::vector<std::string> primary_replication_addrs;  // host:port of the primary's replication listener
  std::string primary_api_addr;                        // the primary sidecar's API address
  std::string ca_cert_pem;                             // the primary's replication CA
  std::string client_cert_pem;                         // issued to this secondary by that CA
  crypto::SecureString client_key_pem;
  uint64_t epoch = 0;
};

// TLS material and identity of a primary's replication listener.
struct PrimaryConfig {
  std::string cluster_id;
  uint64_t epoch = 0;
  std::string ca_cert_pem;
  std::string server_cert_pem;
  crypto::SecureString server_key_pem;
  std::vector<std::string> allowed_secondary_ids;  // secondaries known to the registry
};

class PluginControl {
 public:
  virtual ~PluginControl() = default;

  // Replication status of the protected DB as JSON (role, epoch, cluster_id, sequences, wal window,
  // secondaries[], bootstrap{}); the shape is documented in replication/PROTOCOL.md.
  virtual Result<nlohmann::json> Status() = 0;

  // Role changes. Each is idempotent where that makes sense and fails with a message that says
  // why and what to do otherwise.
  virtual rocksdr::Status EnablePrimary(const PrimaryConfig& config) = 0;
  // Returns the replication listener's bound address (host:port) once enabled.
  virtual Result<std::string> ReplicationAddress() = 0;
  virtual rocksdr::Status SetAllowedSecondaries(const std::vector<std::string>& ids) = 0;
  virtual rocksdr::Status RevokeSecondary(const std::string& id) = 0;
  // Wipes the DB and follows the primary named in the bundle (bootstrap, then stream).
  virtual rocksdr::Status EnableSecondary(const ActivationBundle& bundle) = 0;
  // Follows a new primary without a wipe (update-primary); an empty bundle forgets the primary.
  virtual rocksdr::Status UpdatePrimary(const std::optional<ActivationBundle>& bundle) = 0;
  // Secondary → primary: stops following, raises the epoch to new_epoch, writes the epoch marker,
  // and starts serving with the given listener config.
  virtual rocksdr::Status Promote(const PrimaryConfig& config) = 0;
  // Primary → secondary with no primary (keeps the cluster id).
  virtual rocksdr::Status Demote() = 0;
  virtual rocksdr::Status Disable() = 0;
  // Secondary: drops its position and is bootstrapped again by its primary, now — the answer to
  // a secondary waiting in needs-bootstrap (the plugin's auto_rebootstrap: false). Its data stays
  // until the new copy is installed (atomically). Errors: kFailedPrecondition (not a DR secondary,
  // or it follows no primary).
  virtual rocksdr::Status RequestBootstrap() = 0;

  // Key-value access to the two stores. Keys and values are bounded (key ≤ 1 KiB, value ≤ 1 MiB).
  virtual Result<std::optional<std::string>> Get(Store store, const std::string& key) = 0;
  virtual rocksdr::Status Put(Store store, const std::string& key, std::string_view value) = 0;
  virtual rocksdr::Status Delete(Store store, const std::string& key) = 0;
  // Keys with the given prefix, in order, at most `limit` entries.
  virtual Result<std::vector<std::pair<std::string, std::string>>> Scan(Store store, const std::string& prefix,
                                                                         size_t limit) = 0;

  // The consistency check's ops (rocksdr/replication/consistency_ops.h: consistency_pause,
  // _snapshot, _digest, _release) with their JSON args, answered with the plugin's JSON result
  // (replication/PROTOCOL.md, "Control socket"). A waiting op may take up to its timeout_ms.
  // Default: kFailedPrecondition, for controls with no protected DB (in-memory).
  virtual Result<nlohmann::json> Consistency(std::string_view op, const nlohmann::json& args) {
    (void)args;
    return rocksdr::Status::FailedPrecondition("consistency op '" + std::string(op) +
                                               "': this sidecar drives no protected DB (in-memory plugin)");
  }
};

}  // namespace rocksdr::sidecar
