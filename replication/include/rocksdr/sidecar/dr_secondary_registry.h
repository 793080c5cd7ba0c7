// The DR primary's replicated bookkeeping: the cluster record (id, replication CA certificate,
// advertised replication address) and the secondary registry (one record per secondary id, with
// the hashed activation token while it is pending). Both live in the REPLICATED store, so a DR
// secondary holds the same records and, once promoted, knows the CA and the cluster id:
//
//   "sidecar/dr/cluster"            JSON {"v":1,"cluster_id","ca_cert_pem","primary_cluster_addr",
//                                         "created"}
//   "sidecar/dr/secondaries/<id>"   JSON {"v":1,"id","state":"pending"|"active","created",
//                                         "token_expires","accessor_hash","jti_hash","activated_at"}
//
// The activation token's accessor and jti are kept only as HMAC-SHA256 digests under the token
// HMAC key of the (replicated, sealed) keyring: a copy of the store reveals no usable token.
// The CA's private key is NOT here: it is in the sealed keyring (kReplicationCaKeyName).
//
// Secondary ids: 1..64 characters of [A-Za-z0-9._-] (they become the CN of the secondary's client
// certificate, which the primary's listener matches against the id the secondary announces).
//
// Who may call: the DR handlers, from any thread (the PluginControl is thread-safe);
// read-modify-write sequences are serialized by the caller.
#pragma once

#include <chrono>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kDrClusterKey = "sidecar/dr/cluster";
inline constexpr std::string_view kDrSecondaryKeyPrefix = "sidecar/dr/secondaries/";
inline constexpr size_t kMaxSecondaryIdSize = 64;
// Live secondaries (active, or pending with a token not yet expired) a primary keeps at most.
inline constexpr size_t kMaxSecondaries = 1000;
// Records of any state, revoked ids included, the registry holds at most; List refuses to work on
// more rather than see part of them.
inline constexpr size_t kMaxRegistryRecords = 10000;

struct DrClusterRecord {
  std::string cluster_id;
  std::string ca_cert_pem;
  std::string primary_cluster_addr;  // "" = use the plugin's replication address
  int64_t created = 0;

  nlohmann::json ToJson() const;
  static Result<DrClusterRecord> FromJson(const nlohmann::json& j);
};

struct SecondaryRecord;
// Active, or pending with a token that has not expired at `now`: it takes one of kMaxSecondaries.
bool IsLive(const SecondaryRecord& r, int64_t now);

struct SecondaryRecord {
  std::string id;
  // "pending" (token issued, not yet unwrapped), "active", or "revoked": kept so the id is never
  // admitted again (the certificate issued under it stays valid until it expires).
  std::string state;
  int64_t created = 0;
  int64_t token_expires = 0;
  std::string accessor_hash;  // pending only
  std::string jti_hash;       // pending only
  int64_t activated_at = 0;
  int64_t certificate_not_after = 0;  // the client certificate issued at activation; 0 = unknown

  nlohmann::json ToJson() const;
  static Result<SecondaryRecord> FromJson(const nlohmann::json& j);
};

// kInvalidArgument with a message naming the rule, or OK.
Status ValidateSecondaryId(std::string_view id);

class SecondaryRegistry {
 public:
  explicit SecondaryRegistry(PluginControl* control) : control_(control) {}

  Result<std::optional<DrClusterRecord>> LoadCluster();
  Status StoreCluster(const DrClusterRecord& record);
  Status DeleteCluster();

  Result<std::optional<SecondaryRecord>> Get(std::string_view id);
  Status Put(const SecondaryRecord& record);
  Status Delete(std::string_view id);
  // Every record, ordered by id. kResourceExhausted if there are more than kMaxRegistryRecords
  // (never a truncated list: a missing active id would be refused by the listener).
  Result<std::vector<SecondaryRecord>> List();
  // Deletes the records that hold nothing any more: pending records whose token expired before
  // `now`, and revoked ids whose certificate has expired (its recorded notAfter; for records
  // without one, activation + `certificate_validity` + a day), so the id may be given again.
  // Returns how many it deleted.
  Result<size_t> Prune(int64_t now, std::chrono::seconds certificate_validity);
  // Ids of the records in state "active" (what the plugin's listener admits).
  Result<std::vector<std::string>> ActiveIds();
  // Deletes every secondary record; with keep_revoked, all but the revoked ones (retired ids stay
  // retired while the CA that issued their certificates is kept, as after a promotion).
  Status Clear(bool keep_revoked = false);

 private:
  PluginControl* control_;
};

}  // namespace rocksdr::sidecar
