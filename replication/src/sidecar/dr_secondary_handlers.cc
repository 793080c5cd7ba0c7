// The DR secondary's endpoints (dr_handlers.h): enable, generate-operation-token attempt/update,
// promote, update-primary, disable, operation-token/delete.
#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>

#include "dr_context.h"
#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/jwt.h"
#include "rocksdr/crypto/otp.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/shamir.h"
#include "rocksdr/sidecar/dr_activation.h"

namespace rocksdr::sidecar {

namespace {

ApiResponse Fail(const Status& s) { return ErrorFromStatus(s); }

// Activation failures are the caller's to fix (token, address, CA file): 400 as Vault, never 503
// (which clients read as "sealed"), except our own bugs.
ApiResponse ActivationError(const Status& s) {
  return ErrorResponse(s.code() == Code::kInternal ? 500 : 400, s.message());
}

Status NotSecondary(const PluginRole& r) {
  return Status::InvalidArgument("this cluster is not a DR secondary (mode: " + r.role + ")");
}

// The primary's seal threshold, from the replicated seal configuration.
Result<int> PrimaryThreshold(Core& core) {
  Result<std::optional<SealConfig>> c = core.seal().Config();
  if (!c.ok()) return c.status();
  if (!c->has_value()) {
    return Status::FailedPrecondition(
        "the primary's seal configuration has not reached this secondary yet; wait for the initial sync "
        "(sys/replication/dr/status) and try again");
  }
  return (*c)->secret_threshold;
}

// Vault decodes a key as hex, then as standard base64.
Result<crypto::SecureBytes> DecodeKey(const std::string& key) {
  if (key.size() > 1024) return Status::InvalidArgument("'key' is too long");
  Result<crypto::SecureBytes> hex = crypto::HexDecode(key, 1024);
  if (hex.ok()) return hex;
  Result<crypto::SecureBytes> b64 = crypto::Base64Decode(key, true, 1024);
  if (b64.ok()) return b64;
  return Status::InvalidArgument("'key' must be a valid hex or base64 string");
}

// Reads and checks dr_operation_token; returns the keys stored with it.
Result<std::vector<crypto::SecureBytes>> CheckOpToken(DrContext& ctx, const ApiRequest& req, std::string* token_out) {
  Result<std::string> token = GetString(req.body, "dr_operation_token");
  if (!token.ok()) return token.status();
  if (token->empty()) return Status::InvalidArgument("missing dr_operation_token");
  Result<std::vector<crypto::SecureBytes>> keys = ctx.optokens.Open(*token);
  if (!keys.ok()) return keys.status();
  if (token_out != nullptr) *token_out = std::move(*token);
  return keys;
}

// What every DR-operation-token call that needs a DR secondary checks first: the token, then the
// plugin's role. nullopt when both pass, else the error response. REQUIRES: ctx.mu held.
std::optional<ApiResponse> CheckSecondaryOperation(DrContext& ctx, const ApiRequest& req) {
  Result<std::vector<crypto::SecureBytes>> keys = CheckOpToken(ctx, req, nullptr);
  if (!keys.ok()) return Fail(keys.status());
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "secondary") return Fail(NotSecondary(*role));
  return std::nullopt;
}

Result<UnwrapOptions> ReadUnwrapParams(DrContext& ctx, const ApiRequest& req, std::string* token,
                                       std::string* primary_api_addr) {
  Result<std::string> t = GetString(req.body, "token");
  if (!t.ok()) return t.status();
  if (t->size() > crypto::kMaxJwtSize) return Status::InvalidArgument("token is longer than 8 KiB");
  Result<std::string> addr = GetString(req.body, "primary_api_addr");
  if (!addr.ok()) return addr.status();
  if (addr->size() > 512) return Status::InvalidArgument("primary_api_addr is longer than 512 characters");
  Result<std::string> ca_file = GetString(req.body, "ca_file");
  if (!ca_file.ok()) return ca_file.status();
  if (ca_file->size() > 4096) return Status::InvalidArgument("ca_file is longer than 4096 characters");
  Result<std::string> ca_path = GetString(req.body, "ca_path");
  if (!ca_path.ok()) return ca_path.status();
  if (!ca_path->empty()) {
    return Status::InvalidArgument("ca_path is not supported by rocksdr; put the CA certificates in one PEM file "
                                   "and pass it as ca_file");
  }
  UnwrapOptions o;
  o.ca_file = *ca_file;
  o.timeout = ctx.options.unwrap_timeout;
  o.now = ctx.core->ExpiryNow(/*force_persist=*/true);  // only the expiry is checked with it
  *token = std::move(*t);
  *primary_api_addr = std::move(*addr);
  return o;
}

// With the client key: after an application restart the plugin has forgotten it, and the re-arm
// loop (dr_rearm.cc) re-attaches the secondary from this copy. The local store is node-local
// (never shipped) and as protected as the DB files, like the plugin's tls_key_file option.
Status StoreBundle(DrContext& ctx, const ActivationBundle& bundle) {
  nlohmann::json j = BundleToJson(bundle, /*include_key=*/true);
  std::string text = j.dump();
  Status st = ctx.core->control()->Put(Store::kLocal, std::string(kDrBundleLocalKey), text);
  crypto::Zeroize(text.data(), text.size());
  if (j.contains("client_key_pem")) {
    std::string& k = j["client_key_pem"].get_ref<std::string&>();
    crypto::Zeroize(k.data(), k.size());
  }
  return st;
}

// Puts back the kept bundle as it was before a role change that failed (nullopt: there was none).
void RestoreBundle(DrContext& ctx, const std::optional<std::string>& before) {
  Status st = before ? ctx.core->control()->Put(Store::kLocal, std::string(kDrBundleLocalKey), *before)
                     : ctx.core->control()->Delete(Store::kLocal, std::string(kDrBundleLocalKey));
  if (!st.ok()) spdlog::error("dr: could not restore the kept activation bundle: {}", st.message());
}

}  // namespace

ApiResponse HandleSecondaryEnable(DrContext& ctx, ApiRequest& req) {
  std::string token, primary_api_addr;
  Result<UnwrapOptions> uo = ReadUnwrapParams(ctx, req, &token, &primary_api_addr);
  if (!uo.ok()) return Fail(uo.status());
  if (token.empty()) return ErrorResponse(400, "missing token: pass the wrapping_token from the primary's secondary-token");
  auto check_disabled = [&]() -> std::optional<ApiResponse> {
    Result<PluginRole> role = ReadPluginRole(*ctx.core);
    if (!role.ok()) return Fail(role.status());
    if (role->role != "disabled") {
      return ErrorResponse(400, "DR replication is already enabled on this cluster (mode: " + role->role +
                                    "); a DR secondary follows a new primary with secondary/update-primary");
    }
    return std::nullopt;
  };
  {
    std::lock_guard<std::mutex> lock(ctx.mu);
    if (auto refused = check_disabled()) return *refused;
  }
  // The call to the primary runs without the mutex (it may take up to the unwrap timeout).
  Result<ActivationBundle> bundle = UnwrapAtPrimary(token, primary_api_addr, *uo);
  if (!bundle.ok()) {
    spdlog::warn("dr: secondary activation failed: {}", bundle.status().message());
    return ActivationError(bundle.status());
  }
  std::lock_guard<std::mutex> lock(ctx.mu);
  if (auto refused = check_disabled()) return *refused;  // a concurrent enable won
  // The bundle is kept BEFORE the plugin switches: a sidecar that dies right after the switch
  // must find it, or the re-arm loop cannot re-attach the secondary after the application's next
  // restart (re-attaching it by hand would take a DR operation token).
  Result<std::optional<std::string>> before = ctx.core->control()->Get(Store::kLocal, std::string(kDrBundleLocalKey));
  if (!before.ok()) return Fail(before.status());
  if (Status st = StoreBundle(ctx, *bundle); !st.ok()) return Fail(st.WithContext("keeping the activation bundle"));
  if (Status st = ctx.core->control()->EnableSecondary(*bundle); !st.ok()) {
    // Put the old bundle back only if the plugin did not switch (a failure after its role change,
    // or a control-call timeout, leaves a secondary of this cluster that needs this bundle).
    Result<PluginRole> after = ReadPluginRole(*ctx.core);
    if (!(after.ok() && after->role == "secondary" && after->cluster_id == bundle->cluster_id)) {
      RestoreBundle(ctx, *before);
    }
    return Fail(st.WithContext("the plugin refused to become a DR secondary"));
  }
  // From here on the replicated store is the primary's: this node's own keyring and tokens are
  // stale. Seal (dr_handlers.h, "Seal and keys").
  ctx.core->SetDrSecondary(true);
  ctx.core->seal().Seal();
  ctx.attempt.Cancel();
  std::vector<std::string> warnings = {std::string(kWarnSecondaryEnabled)};
  if (Status st = ctx.optokens.RevokeAll(); !st.ok()) {
    spdlog::error("dr: secondary enabled, but revoking this node's old DR operation tokens failed: {}", st.message());
    warnings.push_back("enabled, but revoking this node's old DR operation tokens failed: " + st.message());
  }
  spdlog::info("dr: enabled as DR secondary \"{}\" of cluster {} (primary API {})", bundle->secondary_id,
               bundle->cluster_id, bundle->primary_api_addr);
  return Envelope(req, nullptr, std::move(warnings));
}

ApiResponse HandleAttemptStatus(DrContext& ctx, ApiRequest& /*req*/) {
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "secondary") return Fail(NotSecondary(*role));
  Result<int> threshold = PrimaryThreshold(*ctx.core);
  if (!threshold.ok()) return Fail(threshold.status());
  return Bare(ctx.attempt.View(*threshold).ToJson());
}

ApiResponse HandleAttemptStart(DrContext& ctx, ApiRequest& req) {
  Result<std::string> pgp = GetString(req.body, "pgp_key");
  if (!pgp.ok()) return Fail(pgp.status());
  if (!pgp->empty()) {
    return ErrorResponse(400, "pgp_key is not supported by rocksdr; omit it: an OTP is generated and returned once");
  }
  Result<std::string> otp_param = GetString(req.body, "otp");
  if (!otp_param.ok()) return Fail(otp_param.status());
  if (!otp_param->empty()) {
    bool printable = true;
    for (char c : *otp_param) printable = printable && c > ' ' && c <= '~';
    if (otp_param->size() != crypto::kTokenLength || !printable) {
      return ErrorResponse(400, "otp must be " + std::to_string(crypto::kTokenLength) +
                                    " printable characters (generate one with `rocksdr operator generate-root "
                                    "-generate-otp`), or omit it and one is generated");
    }
  }
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "secondary") return Fail(NotSecondary(*role));
  Result<int> threshold = PrimaryThreshold(*ctx.core);
  if (!threshold.ok()) return Fail(threshold.status());
  Result<std::string> nonce = crypto::RandomUuid();
  if (!nonce.ok()) return Fail(nonce.status());
  crypto::SecureString otp;
  const bool generated = otp_param->empty();
  if (generated) {
    Result<crypto::SecureString> g = crypto::GenerateOtp(crypto::kTokenLength);
    if (!g.ok()) return Fail(g.status());
    otp = std::move(g).value();
  } else {
    otp.assign(otp_param->begin(), otp_param->end());
    crypto::Zeroize(otp_param->data(), otp_param->size());
  }
  Result<AttemptView> v = ctx.attempt.Start(*threshold, std::move(*nonce), std::move(otp));
  if (!v.ok()) return Fail(v.status());
  if (!generated) v->otp.clear();  // Vault returns the OTP only when it generated it
  spdlog::info("dr: DR operation token generation started (nonce {}, {} keys required)", v->nonce, v->required);
  nlohmann::json body = v->ToJson();
  crypto::Zeroize(v->otp.data(), v->otp.size());
  return Bare(std::move(body));
}

ApiResponse HandleAttemptCancel(DrContext& ctx, ApiRequest& /*req*/) {
  std::lock_guard<std::mutex> lock(ctx.mu);
  ctx.attempt.Cancel();
  return NoContent();
}

ApiResponse HandleAttemptUpdate(DrContext& ctx, ApiRequest& req) {
  Result<std::string> key = GetString(req.body, "key");
  if (!key.ok()) return Fail(key.status());
  Result<std::string> nonce = GetString(req.body, "nonce");
  if (!nonce.ok()) return Fail(nonce.status());
  if (key->empty()) return ErrorResponse(400, "'key' must be specified in request body as JSON");
  if (nonce->empty()) return ErrorResponse(400, "'nonce' must be specified in request body as JSON");
  Result<crypto::SecureBytes> raw = DecodeKey(*key);
  crypto::Zeroize(key->data(), key->size());
  if (!raw.ok()) return Fail(raw.status());

  std::lock_guard<std::mutex> lock(ctx.mu);
  if (!ctx.attempt.in_progress()) return ErrorResponse(400, "no DR operation token generation in progress");
  Result<int> threshold = PrimaryThreshold(*ctx.core);
  if (!threshold.ok()) return Fail(threshold.status());
  const size_t want = *threshold == 1 ? crypto::kRootKeySize : crypto::kRootKeySize + crypto::shamir::kShareOverhead;
  if (*nonce == ctx.attempt.nonce() && raw->size() != want) {
    return ErrorResponse(400, "key has the wrong length (" + std::to_string(raw->size()) +
                                  " bytes; the primary's unseal keys are " + std::to_string(want) + " bytes)");
  }
  Result<OperationTokenAttempt::SubmitResult> r = ctx.attempt.Submit(*raw, *nonce);
  if (!r.ok()) return Fail(r.status());
  if (!r->threshold_reached) return Bare(r->view.ToJson());

  Result<crypto::SecureBytes> root = ctx.core->seal().VerifyShares(r->keys);
  if (!root.ok()) {
    ctx.attempt.Abort();
    spdlog::warn("dr: DR operation token generation aborted: {}", root.status().message());
    return ErrorResponse(400, "DR operation token generation aborted: " + root.status().message() +
                                  "; use the PRIMARY cluster's unseal keys (not this secondary's own); progress "
                                  "was reset to 0, submit the keys again with the same nonce");
  }
  Result<crypto::SecureString> token = ctx.optokens.Create(r->keys, ctx.core->Now());
  if (!token.ok()) {
    ctx.attempt.Abort();
    return Fail(token.status().WithContext("storing the DR operation token"));
  }
  Result<AttemptView> done = ctx.attempt.Complete(std::string_view(token->data(), token->size()));
  if (!done.ok()) return Fail(done.status());
  spdlog::info("dr: DR operation token generated");
  return Bare(done->ToJson());
}

ApiResponse HandlePromote(DrContext& ctx, ApiRequest& req) {
  const auto started = std::chrono::steady_clock::now();
  Result<std::string> cluster_addr = ReadClusterAddr(req.body);
  if (!cluster_addr.ok()) return Fail(cluster_addr.status());
  Result<bool> force = GetBool(req.body, "force", false);
  if (!force.ok()) return Fail(force.status());

  std::lock_guard<std::mutex> lock(ctx.mu);
  // The role before the token: a retried promotion (say, after a client timeout) that already
  // happened must say so, not "invalid DR operation token" (it is used up), which would send the
  // operator into a new token ceremony. The role is public anyway (sys/replication/dr/status).
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role == "primary") {
    return ErrorResponse(400, "this node is already the DR primary of cluster " + role->cluster_id + " (epoch " +
                                  std::to_string(role->epoch) +
                                  "): nothing to promote; a promotion that answered with an error or timed out "
                                  "may have finished (check sys/replication/dr/status)");
  }
  if (role->role != "secondary") return Fail(NotSecondary(*role));
  std::string op_token;
  Result<std::vector<crypto::SecureBytes>> keys = CheckOpToken(ctx, req, &op_token);
  if (!keys.ok()) return Fail(keys.status());
  std::vector<std::string> warnings = {std::string(kWarnPromoted)};
  if (role->connected_to_primary) {
    if (!*force) {
      return ErrorResponse(400, "this secondary is still connected to its primary (" + role->primary_api_addr +
                                    "); promoting now would make two primaries whose data diverge. Demote the "
                                    "primary first (sys/replication/dr/primary/demote), or pass force=true");
    }
    warnings.push_back("force=true: promoted while still connected to the primary " + role->primary_api_addr +
                       "; demote or disable that primary now, or the two clusters will diverge");
  }
  // Unseal with the primary's keys: from now on this node runs with the cluster's keyring.
  ctx.core->seal().Seal();
  for (const auto& k : *keys) {
    Result<SealState> s = ctx.core->seal().SubmitUnsealKey(k);
    if (!s.ok()) {
      ctx.core->seal().ResetUnseal();
      return ErrorResponse(500, "the keys of this DR operation token no longer open the replicated keyring (" +
                                    s.status().message() + "); generate a new DR operation token");
    }
  }
  if (ctx.core->seal().sealed()) {
    return ErrorResponse(500, "unsealing with the keys of this DR operation token did not complete; generate a new one");
  }
  // Unsealed with the cluster's keyring from here: every way out that does not leave this node the
  // DR primary seals it again, as a DR secondary is.
  struct ResealUnlessPrimary {
    Core* core;
    bool primary = false;
    ~ResealUnlessPrimary() {
      if (!primary) core->seal().Seal();
    }
  } reseal{ctx.core};
  Result<std::optional<DrClusterRecord>> cluster = ctx.registry.LoadCluster();
  if (!cluster.ok()) return Fail(cluster.status());
  if (!cluster->has_value()) {
    return ErrorResponse(500, "the DR cluster record has not been replicated to this secondary; it cannot be promoted");
  }
  DrClusterRecord rec = **cluster;
  Result<crypto::CertifiedKey> server = IssueServerCertificate(ctx, rec, *cluster_addr);
  if (!server.ok()) return Fail(server.status());
  PrimaryConfig config;
  config.cluster_id = rec.cluster_id;
  config.epoch = role->epoch + 1;
  config.ca_cert_pem = rec.ca_cert_pem;
  config.server_cert_pem = server->cert_pem;
  config.server_key_pem = server->key_pem;
  // The journal first: should this sidecar die once the plugin has promoted, the re-arm loop
  // finishes the bookkeeping below with this address.
  if (Status st = ctx.core->control()->Put(
          Store::kLocal, std::string(kDrPromotionLocalKey),
          nlohmann::json{{"cluster_addr", *cluster_addr}, {"cluster_id", rec.cluster_id}, {"epoch", config.epoch}}.dump());
      !st.ok()) {
    return Fail(st.WithContext("recording the promotion before it starts (nothing changed)"));
  }
  Status promoted = ctx.core->control()->Promote(config);
  if (!promoted.ok()) {
    // Still a DR secondary (the plugin refuses before anything changes): seal again, as a DR
    // secondary is, and keep the operation token for the retry.
    Result<PluginRole> after = ReadPluginRole(*ctx.core);
    if (after.ok() && after->role == "secondary") {
      (void)ctx.core->control()->Delete(Store::kLocal, std::string(kDrPromotionLocalKey));
      return Fail(promoted.WithContext("the plugin refused the promotion (this node is still a sealed DR secondary; "
                                       "the DR operation token stays valid: fix the cause and promote again)"));
    }
    if (!after.ok()) {
      return Fail(promoted.WithContext("the promotion failed, and the plugin's role could not be read afterwards (" +
                                       after.status().message() + "); check sys/replication/dr/status before retrying "
                                       "(this sidecar is sealed again: if the node did become the primary, unseal it "
                                       "with the cluster's unseal keys)"));
    }
    // A secondary before the call, primary now: the plugin became the primary but did not
    // finish (its DB reopen or its server failed). The bookkeeping below still runs, so that the
    // re-arm loop starts its server with this cluster address; the node keeps its keyring.
    if (after->role != "primary") return Fail(promoted.WithContext("the plugin refused the promotion"));
    config.epoch = after->epoch;
  }
  reseal.primary = true;
  ctx.core->SetDrSecondary(false);
  ctx.attempt.Cancel();
  if (Status st = FinishPromotion(ctx, *cluster_addr, /*registry_done=*/false); !st.ok()) {
    warnings.push_back("promoted, but the DR bookkeeping after it failed (" + st.message() +
                       "); it is retried by the next secondary-token and by the sidecar's re-arm loop, and "
                       "sys/replication/dr/status shows it until then");
  }
  if (!promoted.ok()) {
    spdlog::error("dr: promoted to DR primary at epoch {}, not finished: {}", config.epoch, promoted.message());
    return ErrorResponse(500, "this node IS the DR primary now (epoch " + std::to_string(config.epoch) +
                                  "; the DR operation token is used up), but the promotion did not finish: " +
                                  promoted.message() + ". The sidecar retries starting replication every re-arm "
                                  "interval; sys/replication/dr/status shows it");
  }
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("dr: promoted to DR primary at epoch {} in {} ms", config.epoch, ms);
  return Envelope(req, nlohmann::json{{"epoch", config.epoch}, {"promote_duration_ms", ms}}, std::move(warnings));
}

Status FinishPromotion(DrContext& ctx, const std::string& cluster_addr, bool registry_done) {
  if (!registry_done) {
    Result<std::optional<DrClusterRecord>> cluster = ctx.registry.LoadCluster();
    if (!cluster.ok()) return cluster.status().WithContext("reading the DR cluster record");
    if (!cluster->has_value()) return Status::FailedPrecondition("the DR cluster record is missing");
    DrClusterRecord rec = **cluster;
    // The new primary starts with no secondaries: the others need new activation tokens. Revoked
    // ids stay retired: the CA is the same, so their certificates are still valid.
    rec.primary_cluster_addr = cluster_addr;
    ROCKSDR_RETURN_IF_ERROR(ctx.registry.Clear(/*keep_revoked=*/true));
    ROCKSDR_RETURN_IF_ERROR(ctx.registry.StoreCluster(rec));
    // Done once: secondaries activated from here on must not be cleared by a retry.
    Result<std::optional<std::string>> raw = ctx.core->control()->Get(Store::kLocal, std::string(kDrPromotionLocalKey));
    ROCKSDR_RETURN_IF_ERROR(raw.status());
    nlohmann::json j = raw->has_value() ? nlohmann::json::parse(**raw, nullptr, false) : nlohmann::json::object();
    if (!j.is_object()) j = nlohmann::json::object();
    j["cluster_addr"] = cluster_addr;
    j["registry_done"] = true;
    ROCKSDR_RETURN_IF_ERROR(ctx.core->control()->Put(Store::kLocal, std::string(kDrPromotionLocalKey), j.dump()));
  }
  ROCKSDR_RETURN_IF_ERROR(ctx.optokens.RevokeAll());
  ROCKSDR_RETURN_IF_ERROR(ctx.core->control()->Delete(Store::kLocal, std::string(kDrBundleLocalKey)));
  return ctx.core->control()->Delete(Store::kLocal, std::string(kDrPromotionLocalKey));
}

Result<std::string> ResumePromotionJournal(DrContext& ctx, const PluginRole& plugin) {
  Result<std::optional<std::string>> raw = ctx.core->control()->Get(Store::kLocal, std::string(kDrPromotionLocalKey));
  if (!raw.ok()) return raw.status().WithContext("reading the promotion journal");
  if (!raw->has_value()) return std::string();
  if (plugin.role == "secondary") return std::string();  // still promoting, or to be retried
  nlohmann::json j = nlohmann::json::parse(**raw, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) j = nlohmann::json::object();
  const std::string addr = j.value("cluster_addr", std::string());
  const std::string cluster_id = j.value("cluster_id", std::string());
  const uint64_t epoch = j.contains("epoch") && j["epoch"].is_number_unsigned() ? j["epoch"].get<uint64_t>() : 0;
  if (plugin.role != "primary" || plugin.cluster_id != cluster_id || plugin.epoch < epoch) {
    ROCKSDR_RETURN_IF_ERROR(ctx.core->control()->Delete(Store::kLocal, std::string(kDrPromotionLocalKey)));
    return "dropped the record of a promotion to epoch " + std::to_string(epoch) + " that did not happen (the node is " +
           plugin.role + " at epoch " + std::to_string(plugin.epoch) + ")";
  }
  ROCKSDR_RETURN_IF_ERROR(FinishPromotion(ctx, addr, j.value("registry_done", false)));
  return "finished the DR bookkeeping after this node's promotion to epoch " + std::to_string(epoch) +
         ": the cluster record names " + (addr.empty() ? std::string("the plugin's replication address") : addr) +
         " as the primary; secondaries need new activation tokens";
}

ApiResponse HandleUpdatePrimary(DrContext& ctx, ApiRequest& req) {
  std::string token, primary_api_addr;
  Result<UnwrapOptions> uo = ReadUnwrapParams(ctx, req, &token, &primary_api_addr);
  if (!uo.ok()) return Fail(uo.status());
  std::unique_lock<std::mutex> lock(ctx.mu);
  if (auto refused = CheckSecondaryOperation(ctx, req)) return *refused;
  if (token.empty()) {
    // No token: forget the primary (a plugin may refuse that; rocksdr's does). Say what was
    // asked, since a misspelt token= lands here too.
    if (Status st = ctx.core->control()->UpdatePrimary(std::nullopt); !st.ok()) {
      return ErrorResponse(400, "no token given: update-primary follows a new primary with the activation token "
                                "it issued (token=...; sys/replication/dr/primary/secondary-token on that primary); "
                                "without one it asks this secondary to forget its primary, which the plugin "
                                "refused (" + st.message() + "); to stop replication use secondary/disable");
    }
    (void)ctx.core->control()->Delete(Store::kLocal, std::string(kDrBundleLocalKey));
    spdlog::info("dr: secondary forgot its primary");
    return Envelope(req, nullptr);
  }
  // The call to the primary runs without the mutex; the checks are repeated afterwards.
  lock.unlock();
  Result<ActivationBundle> bundle = UnwrapAtPrimary(token, primary_api_addr, *uo);
  if (!bundle.ok()) return ActivationError(bundle.status());
  lock.lock();
  if (auto refused = CheckSecondaryOperation(ctx, req)) return *refused;
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (!role->cluster_id.empty() && bundle->cluster_id != role->cluster_id) {
    return ErrorResponse(400, "the new primary belongs to cluster " + bundle->cluster_id +
                                  " but this secondary to cluster " + role->cluster_id +
                                  "; update-primary only follows a primary of the same cluster (use "
                                  "secondary/disable, then secondary/enable, which wipes this node)");
  }
  // Kept before the plugin switches (see secondary/enable), put back if it refuses.
  Result<std::optional<std::string>> before = ctx.core->control()->Get(Store::kLocal, std::string(kDrBundleLocalKey));
  if (!before.ok()) return Fail(before.status());
  if (Status st = StoreBundle(ctx, *bundle); !st.ok()) return Fail(st.WithContext("keeping the activation bundle"));
  if (Status st = ctx.core->control()->UpdatePrimary(*bundle); !st.ok()) {
    RestoreBundle(ctx, *before);
    return Fail(st);
  }
  spdlog::info("dr: secondary now follows the primary at {}", bundle->primary_api_addr);
  return Envelope(req, nullptr, {std::string(kWarnSecondaryEnabled)});
}

ApiResponse HandleSecondaryDisable(DrContext& ctx, ApiRequest& req) {
  std::lock_guard<std::mutex> lock(ctx.mu);
  if (auto refused = CheckSecondaryOperation(ctx, req)) return *refused;
  if (Status st = ctx.core->control()->Disable(); !st.ok()) return Fail(st.WithContext("disable"));
  ctx.core->SetDrSecondary(false);
  ctx.attempt.Cancel();
  std::vector<std::string> warnings = {std::string(kWarnDisabled)};
  Status st = ctx.optokens.RevokeAll();
  if (st.ok()) st = ctx.core->control()->Delete(Store::kLocal, std::string(kDrBundleLocalKey));
  if (!st.ok()) warnings.push_back("replication disabled, but cleaning up DR bookkeeping failed: " + st.message());
  if (ctx.core->seal().sealed()) {
    warnings.push_back("this node is sealed; unseal it with the unseal keys of the cluster it replicated from");
  }
  spdlog::info("dr: DR secondary disabled");
  return Envelope(req, nullptr, std::move(warnings));
}

// rocksdr's own path (Vault has no such call): a secondary whose position its primary cannot stream
// from waits in needs-bootstrap when its plugin runs with auto_rebootstrap: false; this is the
// operator's go-ahead to replace its data with a new copy of the primary's.
ApiResponse HandleRequestBootstrap(DrContext& ctx, ApiRequest& req) {
  std::lock_guard<std::mutex> lock(ctx.mu);
  if (auto refused = CheckSecondaryOperation(ctx, req)) return *refused;
  if (Status st = ctx.core->control()->RequestBootstrap(); !st.ok()) {
    return Fail(st.WithContext("the plugin refused the bootstrap request"));
  }
  spdlog::info("dr: bootstrap of this DR secondary requested");
  return Envelope(req, nullptr,
                  {"this secondary is being bootstrapped again from its primary: its data stays until the new copy is "
                   "installed, then is replaced by it; follow the progress in sys/replication/dr/status "
                   "(state bootstrapping, then stream-wals)"});
}

ApiResponse HandleOperationTokenDelete(DrContext& ctx, ApiRequest& req) {
  Result<std::string> token = GetString(req.body, "dr_operation_token");
  if (!token.ok()) return Fail(token.status());
  if (token->empty()) return ErrorResponse(400, "missing dr_operation_token");
  std::lock_guard<std::mutex> lock(ctx.mu);
  if (Status st = ctx.optokens.Revoke(*token); !st.ok()) return Fail(st);
  return NoContent();
}

}  // namespace rocksdr::sidecar
