// Mapping of the plugin's status JSON (PluginControl::Status()) to Vault's DR status fields
// (vault-dr-api.md, "Status fields"), plus ours (epoch, lag, bootstrap, WAL window).
//
// Plugin status fields read (all optional; missing ones get Vault's empty values):
//   role ("disabled"|"primary"|"secondary"), cluster_id, epoch, state, last_sequence,
//   replication_address, primary_cluster_addr, wal {oldest_sequence, ...},
//   secondaries[] {id, api_address, address, connected, last_heartbeat (RFC 3339 or unix s),
//                  acked_sequence, lag_sequences, lag_bytes, lag_ms, wal_retention_left, ...},
//   secondary {connection_state, applied_sequence, primary_api_addr, primary_address,
//              last_heartbeat, last_start, secondary_id, lag_sequences, lag_bytes, lag_ms},
//   bootstrap {in_progress, bytes_done, bytes_total, files_done, files_total}.
// Fields in a secondaries[] entry beyond Vault's are passed through under the same names.
//
// Who may call: anyone (pure function).
#pragma once

#include <nlohmann/json.hpp>

namespace rocksdr::sidecar {

// Vault's `data` of sys/replication/dr/status for the given plugin status.
nlohmann::json DrStatusFromPlugin(const nlohmann::json& plugin_status);

}  // namespace rocksdr::sidecar
