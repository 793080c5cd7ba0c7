// ControlHandler: what the control socket does with one validated request — maps the ops of
// replication/PROTOCOL.md "Control socket" onto a Replicator and rocksdr's reserved column
// families. The socket side (accept, peer check, framing) is in control_server.cc; this class
// has no I/O, so it can be driven directly.
//
//  - Role ops translate the sidecar's types (rocksdr::sidecar::PrimaryConfig / ActivationBundle)
//    into the runtime's (rocksdr::PrimaryConfig / SecondaryBundle). The allowed-secondaries list
//    is persisted in __rocksdr_local (key kLocalKeyAllowedSecondaries, a JSON array; node-local,
//    out of the sidecar's "sidecar/" range) and read by the primary's authorize callback at every
//    handshake: an id not in it is refused (an empty or absent list admits nobody). Persisting it
//    makes it outlive a control server restart and apply to whichever server is running.
//  - KV ops read the reserved column families through the base DB and write them with
//    ReplicatedDBImpl::InternalWrite (synced). Replicated store: the keys as given, refused for
//    writes on a DR secondary. Local store: keys under "sidecar/" in __rocksdr_local (never
//    shipped), so the sidecar cannot touch the plugin's own node state.
//  - status: the Replicator's ReplicationStatus as JSON (shape in PROTOCOL.md).
//
// Who may include: plugin/src only. Thread-safe: Handle may be called from many connection
// threads at once.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "rocksdr/control_server.h"
#include "rocksdr/replication/control_protocol.h"
#include "rocksdr/replication_status.h"
#include "rocksdr/replicator.h"

namespace rocksdr::plugin {

// The local store's key prefix in kLocalCf.
inline constexpr std::string_view kSidecarLocalPrefix = "sidecar/";
// The allowed secondaries (JSON array of ids, sorted) in kLocalCf.
inline constexpr std::string_view kLocalKeyAllowedSecondaries = "control/allowed_secondaries";

// What status reports about the followed primary: {"secondary_id", "primary_api_addr"} (JSON),
// written by enable_secondary / update_primary.
inline constexpr std::string_view kLocalKeySecondaryLink = "control/secondary_link";

// A plugin-owned key of kLocalCf (nullopt: absent), and its synced replacement (nullopt: delete).
Result<std::optional<std::string>> LoadLocal(Replicator* replicator, std::string_view key);
Status SaveLocal(Replicator* replicator, std::string_view key, const std::optional<std::string>& value);

// The persisted allowed list (nullopt: never set). Errors: kCorruption for a malformed value.
Result<std::optional<std::set<std::string>>> LoadAllowedSecondaries(Replicator* replicator);
// Replaces it (nullopt: deletes it). Synced.
Status SaveAllowedSecondaries(Replicator* replicator, const std::optional<std::set<std::string>>& ids);

// ReplicationStatus as the control socket's status JSON.
nlohmann::json StatusToJson(const ReplicationStatus& status);
std::string_view ConnectionStateName(ConnectionState state);

class ControlHandler {
 public:
  ControlHandler(Replicator* replicator, ControlServerOptions options);

  // Serves a request that passed ParseRequest (hello is answered by the connection). Returns
  // the result object or the error to send back.
  Result<nlohmann::json> Handle(const replication::control::Request& request);

 private:
  Result<nlohmann::json> StatusJson();
  Result<nlohmann::json> EnablePrimary(const nlohmann::json& args, bool promote);
  Result<nlohmann::json> ReplicationAddress();
  Result<nlohmann::json> SetAllowed(const nlohmann::json& args);
  Result<nlohmann::json> Revoke(const nlohmann::json& args);
  Result<nlohmann::json> EnableSecondary(const nlohmann::json& args, bool update);
  Result<nlohmann::json> Get(const nlohmann::json& args);
  Result<nlohmann::json> Write(const nlohmann::json& args, bool is_delete);
  Result<nlohmann::json> Scan(const nlohmann::json& args);

  Result<rocksdr::PrimaryConfig> ToPrimaryConfig(const sidecar::PrimaryConfig& config) const;
  Result<SecondaryBundle> ToBundle(const sidecar::ActivationBundle& bundle) const;
  Result<std::string> ListenAddress();

  Replicator* const replicator_;
  const ControlServerOptions options_;
  std::mutex allow_mu_;  // serializes read-modify-write of the persisted allowed list
  std::mutex link_mu_;
  std::string link_;     // GUARDED_BY(link_mu_): last kLocalKeySecondaryLink written by this handler
  // Random per handler (= per application start): the sidecar notices a restarted application
  // by a new value in status ("instance_id") and re-arms its runtime (README "Restarts").
  const std::string instance_id_;
};

}  // namespace rocksdr::plugin
