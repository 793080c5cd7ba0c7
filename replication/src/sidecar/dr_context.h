// DrContext: the state shared by the DR endpoints (dr_handlers.h) of one sidecar, and the
// handler functions of each side. Internal to replication/src/sidecar.
//
// Who may call: the handlers, on server threads. `mu` serializes every DR state change (role
// changes, registry updates, the operation-token attempt); reads of the plugin status do not need it.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "rocksdr/crypto/x509_ca.h"
#include "rocksdr/sidecar/api.h"
#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/dr_handlers.h"
#include "rocksdr/sidecar/dr_op_token_store.h"
#include "rocksdr/sidecar/dr_operation_token.h"
#include "rocksdr/sidecar/dr_secondary_registry.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kDrBundleLocalKey = "sidecar/dr/bundle";
// A promotion in progress (local store, JSON {"cluster_addr", "cluster_id", "epoch",
// "registry_done"?}): written before the plugin is asked to promote, deleted once the sidecar's
// bookkeeping after it is done. If the sidecar dies in between, or the bookkeeping fails, the
// re-arm loop (or the next secondary-token) finishes it (ResumePromotionJournal) — otherwise the
// cluster record would keep the old primary's replication address, which re-arm and new
// activation tokens use.
inline constexpr std::string_view kDrPromotionLocalKey = "sidecar/dr/promotion";

struct DrContext;

// The bookkeeping of a node that has just become the DR primary: the cluster record names
// `cluster_addr` as the primary's replication address and the registry starts empty (the other
// secondaries need new activation tokens) — unless `registry_done`, recorded in the journal once
// that step succeeded, so that a retry never clears secondaries activated since; then DR operation
// tokens are revoked, the kept activation bundle dropped, and the journal (kDrPromotionLocalKey)
// deleted. REQUIRES: ctx.mu held.
Status FinishPromotion(DrContext& ctx, const std::string& cluster_addr, bool registry_done);

// An interrupted promotion's journal, given what the plugin is now (`plugin`): finished when it is
// the primary of the journal's cluster at the journal's epoch or later; kept while it is still a
// secondary (the promotion may still be running in the application, or be retried); dropped
// otherwise (disabled, another cluster, an older epoch). Returns what it did ("" = nothing to do).
// REQUIRES: ctx.mu held.
struct PluginRole;
Result<std::string> ResumePromotionJournal(DrContext& ctx, const PluginRole& plugin);

struct DrContext {
  DrContext(Core* c, DrOptions o)
      : core(c), options(std::move(o)), registry(c->control()), optokens(c->control()) {}

  Core* core;
  DrOptions options;
  std::mutex mu;
  SecondaryRegistry registry;       // replicated store
  DrOperationTokens optokens;       // local store
  OperationTokenAttempt attempt;    // guarded by mu
};

// The plugin's role ("disabled", "primary", "secondary"), its epoch and whether it reports a live
// connection to a primary. Errors: the plugin's.
struct PluginRole {
  std::string role;
  uint64_t epoch = 0;
  std::string cluster_id;
  bool connected_to_primary = false;
  std::string primary_api_addr;
};
Result<PluginRole> ReadPluginRole(Core& core);

// A replication server certificate for this node, signed by the replicated CA (key from the open
// keyring, certificate from the cluster record). SANs: see CertificateSans (dr_activation.h) over
// api_addr, primary_cluster_addr and DrOptions::extra_cert_hosts. Errors: kUnavailable when sealed,
// kNotFound (no CA key), the crypto's.
Result<crypto::CertifiedKey> IssueServerCertificate(DrContext& ctx, const DrClusterRecord& cluster,
                                                    const std::string& primary_cluster_addr);
// Reads the optional "primary_cluster_addr" parameter: "" or host:port, optionally with a scheme
// ("https://h:8201", as Vault's examples); returns "host:port" or "". Errors: kInvalidArgument.
Result<std::string> ReadClusterAddr(const nlohmann::json& body);

// The CA (certificate + key) of the cluster, from the record and the open keyring.
Result<crypto::CertifiedKey> LoadCa(DrContext& ctx, const DrClusterRecord& cluster);

// Vault's warnings (with rocksdr in place of Vault).
inline constexpr std::string_view kWarnPrimaryEnabled =
    "This cluster is being enabled as a primary for replication. rocksdr will be unavailable for a brief period "
    "and will resume service shortly.";
inline constexpr std::string_view kWarnSecondaryEnabled =
    "rocksdr has successfully found secondary information; it may take a while to perform setup tasks. rocksdr "
    "will be unavailable until these tasks and initial sync complete.";
inline constexpr std::string_view kWarnPromoted =
    "This cluster is being promoted to a replication primary. rocksdr will be unavailable for a brief period and "
    "will resume service shortly.";
inline constexpr std::string_view kWarnDemoted =
    "This cluster is being demoted to a replication secondary. rocksdr will be unavailable for a brief period and "
    "will resume service shortly.";
inline constexpr std::string_view kWarnDisabled =
    "This cluster is having replication disabled. rocksdr will be unavailable for a brief period and will resume "
    "service shortly.";

// Starts the re-arm loop (dr_rearm.cc) when ctx->options.rearm_interval > 0; it is stopped by
// Core::StopBackground. Call once, at registration.
void StartDrRearm(const std::shared_ptr<DrContext>& ctx);

// Primary side (dr_primary_handlers.cc).
ApiResponse HandlePrimaryEnable(DrContext& ctx, ApiRequest& req);
ApiResponse HandleSecondaryToken(DrContext& ctx, ApiRequest& req);
ApiResponse HandleUnwrap(DrContext& ctx, ApiRequest& req);
ApiResponse HandleRevokeSecondary(DrContext& ctx, ApiRequest& req);
ApiResponse HandlePrimaryDemote(DrContext& ctx, ApiRequest& req);
ApiResponse HandlePrimaryDisable(DrContext& ctx, ApiRequest& req);

// Secondary side (dr_secondary_handlers.cc).
ApiResponse HandleSecondaryEnable(DrContext& ctx, ApiRequest& req);
ApiResponse HandleAttemptStatus(DrContext& ctx, ApiRequest& req);
ApiResponse HandleAttemptStart(DrContext& ctx, ApiRequest& req);
ApiResponse HandleAttemptCancel(DrContext& ctx, ApiRequest& req);
ApiResponse HandleAttemptUpdate(DrContext& ctx, ApiRequest& req);
ApiResponse HandlePromote(DrContext& ctx, ApiRequest& req);
ApiResponse HandleUpdatePrimary(DrContext& ctx, ApiRequest& req);
ApiResponse HandleSecondaryDisable(DrContext& ctx, ApiRequest& req);
ApiResponse HandleOperationTokenDelete(DrContext& ctx, ApiRequest& req);
ApiResponse HandleRequestBootstrap(DrContext& ctx, ApiRequest& req);

}  // namespace rocksdr::sidecar
