// The DR primary's endpoints (dr_handlers.h): enable, secondary-token, sys/wrapping/unwrap,
// revoke-secondary, demote, disable.
#include <chrono>
#include <ctime>

#include <spdlog/spdlog.h>

#include "dr_context.h"
#include "rocksdr/crypto/ec_key.h"
#include "rocksdr/crypto/jwt.h"
#include "rocksdr/crypto/keyring.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/token_hash.h"
#include "rocksdr/sidecar/dr_activation.h"

namespace rocksdr::sidecar {

namespace {

constexpr std::string_view kSecondaryTokenPath = "sys/replication/dr/primary/secondary-token";

// RFC 3339 with nanoseconds, as Vault's wrap_info.creation_time: seconds from the core's clock,
// the fraction from the system clock.
std::string Rfc3339Nano(int64_t seconds) {
  std::time_t tt = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count() %
                  1000000000;
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%09lldZ", static_cast<long long>(ns));
  return std::string(buf) + frac;
}

Status NotPrimary(const PluginRole& r) {
  return Status::InvalidArgument("this cluster is not a DR primary (mode: " + r.role +
                                 "); enable it first with sys/replication/dr/primary/enable");
}

Result<crypto::EcPrivateKey> SigningKey(Core& core) {
  Result<crypto::SecureBytes> pem = core.seal().KeyringValue(crypto::kJwtSigningKeyName);
  if (!pem.ok()) return pem.status().WithContext("activation token signing key");
  return crypto::EcPrivateKey::FromPem(crypto::AsStringView(*pem));
}

Result<crypto::SecureBytes> HmacKey(Core& core) { return core.seal().KeyringValue(crypto::kTokenHmacKeyName); }

// Tells the plugin which secondaries may connect (the registry's active ids).
Status PushAllowed(DrContext& ctx) {
  Result<std::vector<std::string>> ids = ctx.registry.ActiveIds();
  if (!ids.ok()) return ids.status();
  return ctx.core->control()->SetAllowedSecondaries(*ids);
}

ApiResponse Fail(const Status& s) { return ErrorFromStatus(s); }

}  // namespace

ApiResponse HandlePrimaryEnable(DrContext& ctx, ApiRequest& req) {
  Result<std::string> cluster_addr = ReadClusterAddr(req.body);
  if (!cluster_addr.ok()) return Fail(cluster_addr.status());
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "disabled") {
    return ErrorResponse(400, "DR replication is already enabled on this cluster (mode: " + role->role +
                                  "); disable it first (sys/replication/dr/" + role->role + "/disable)");
  }
  Result<std::string> cluster_id = crypto::RandomUuid();
  if (!cluster_id.ok()) return Fail(cluster_id.status());
  Result<crypto::CertifiedKey> ca =
      crypto::CreateCa("rocksdr-replication-ca-" + cluster_id->substr(0, 8), std::chrono::hours(24 * 365 * 10));
  if (!ca.ok()) return Fail(ca.status());
  Result<crypto::EcPrivateKey> jwt = crypto::EcPrivateKey::Generate();
  if (!jwt.ok()) return Fail(jwt.status());
  Result<crypto::SecureString> jwt_pem = jwt->ToPem();
  if (!jwt_pem.ok()) return Fail(jwt_pem.status());
  // The CA key and a fresh signing key (tokens of an earlier enable stop verifying) go into the
  // sealed, replicated keyring.
  Status st = ctx.core->seal().UpdateKeyring([&](crypto::Keyring& kr) -> Status {
    ROCKSDR_RETURN_IF_ERROR(kr.Put(crypto::kReplicationCaKeyName, crypto::SecureBytes(ca->key_pem.begin(), ca->key_pem.end())));
    return kr.Put(crypto::kJwtSigningKeyName, crypto::SecureBytes(jwt_pem->begin(), jwt_pem->end()));
  });
  if (!st.ok()) return Fail(st.WithContext("storing the replication CA key"));
  DrClusterRecord cluster;
  cluster.cluster_id = *cluster_id;
  cluster.ca_cert_pem = ca->cert_pem;
  cluster.primary_cluster_addr = *cluster_addr;
  cluster.created = ctx.core->Now();
  if (st = ctx.registry.Clear(); !st.ok()) return Fail(st);
  if (st = ctx.registry.StoreCluster(cluster); !st.ok()) return Fail(st);
  Result<crypto::CertifiedKey> server = IssueServerCertificate(ctx, cluster, *cluster_addr);
  if (!server.ok()) return Fail(server.status());
  PrimaryConfig config;
  config.cluster_id = cluster.cluster_id;
  config.epoch = 1;
  config.ca_cert_pem = cluster.ca_cert_pem;
  config.server_cert_pem = server->cert_pem;
  config.server_key_pem = server->key_pem;
  if (st = ctx.core->control()->EnablePrimary(config); !st.ok()) {
    (void)ctx.registry.DeleteCluster();
    return Fail(st.WithContext("the plugin refused to become a DR primary"));
  }
  ctx.core->SetDrSecondary(false);
  spdlog::info("dr: enabled as DR primary, cluster id {}", cluster.cluster_id);
  return Envelope(req, nullptr, {std::string(kWarnPrimaryEnabled)});
}

ApiResponse HandleSecondaryToken(DrContext& ctx, ApiRequest& req) {
  Result<std::string> id = GetString(req.body, "id");
  if (!id.ok()) return Fail(id.status());
  if (Status v = ValidateSecondaryId(*id); !v.ok()) return Fail(v);
  Result<int64_t> ttl = GetDurationSeconds(req.body, "ttl", crypto::kDefaultActivationTtlSeconds, 1,
                                           ctx.options.max_activation_ttl_seconds);
  if (!ttl.ok()) return Fail(ttl.status());
  const std::string api_addr = ctx.core->api_addr();
  if (api_addr.empty()) {
    return ErrorResponse(500, "this sidecar has no api_addr configured; set api_addr (the address secondaries "
                              "use to reach this node's API) in its configuration");
  }
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "primary") return Fail(NotPrimary(*role));
  // After a promotion, the registry is emptied once: finish that first, or a token issued before
  // it would be lost.
  if (Result<std::string> resumed = ResumePromotionJournal(ctx, *role); !resumed.ok()) {
    return ErrorResponse(503, "the DR bookkeeping after this node's promotion is not finished (" +
                                  resumed.status().message() + "); retry once it is (the sidecar's re-arm loop "
                                  "retries it too)");
  } else if (!resumed->empty()) {
    spdlog::info("dr: {}", *resumed);
  }
  const int64_t now = ctx.core->Now();
  // Bounded: expired tokens and ids retired long ago are dropped first, then the live ones count.
  if (Result<size_t> pruned = ctx.registry.Prune(now, crypto::CertificateRequest().validity); !pruned.ok()) {
    return Fail(pruned.status());
  } else if (*pruned > 0) {
    spdlog::info("dr: dropped {} registry record(s) that held nothing (expired tokens, ids whose certificate expired)",
                 *pruned);
  }
  Result<std::optional<SecondaryRecord>> existing = ctx.registry.Get(*id);
  if (!existing.ok()) return Fail(existing.status());
  if (existing->has_value() && (*existing)->state == "revoked") {
    return ErrorResponse(400, "the secondary id \"" + *id + "\" was revoked: the certificate issued under it stays valid, "
                              "so this primary never admits that id again (the revoked machine could otherwise "
                              "connect with it). Give the new secondary another id");
  }
  if (existing->has_value() && ((*existing)->state == "active" || (*existing)->token_expires > now)) {
    return ErrorResponse(400, "a secondary with id \"" + *id + "\" already exists (" + (*existing)->state + "); " +
                                  ((*existing)->state == "pending"
                                       ? "revoke its unused token first (sys/replication/dr/primary/revoke-secondary: "
                                         "the id stays usable), or choose another id"
                                       : "choose another id (revoking an active secondary retires its id)"));
  }
  Result<std::vector<SecondaryRecord>> records = ctx.registry.List();
  if (!records.ok()) return Fail(records.status());
  size_t live = 0;
  for (const auto& r : *records) live += IsLive(r, now) ? 1 : 0;
  if (live >= kMaxSecondaries) {
    return ErrorResponse(400, "this primary already has " + std::to_string(live) + " secondaries (active, or with an "
                              "unused token), the most it keeps; revoke one it no longer needs first "
                              "(sys/replication/dr/primary/revoke-secondary)");
  }
  if (records->size() >= kMaxRegistryRecords) {
    return ErrorResponse(400, "the secondary registry holds " + std::to_string(records->size()) + " records, the most it "
                              "keeps; most are revoked ids, retired until their certificates expire (one year after "
                              "activation). Issue tokens again after some expire");
  }
  Result<std::string> accessor = crypto::RandomUuid();
  if (!accessor.ok()) return Fail(accessor.status());
  Result<crypto::ActivationClaims> claims = crypto::NewActivationClaims(api_addr, *accessor, now, *ttl);
  if (!claims.ok()) return Fail(claims.status());
  if (const int64_t expiry_now = ctx.core->ExpiryNow(/*force_persist=*/true); claims->exp <= expiry_now) {
    return ErrorResponse(400, "this node's clock is " + std::to_string(expiry_now - now) +
                                  " s behind the latest time it has seen, so a token with this ttl would be expired "
                                  "on use; fix the clock, or if it had been set forward by mistake, reset the "
                                  "high water (DELETE sys/clock/high-water with a root token), or use a longer ttl");
  }
  Result<crypto::EcPrivateKey> key = SigningKey(*ctx.core);
  if (!key.ok()) return Fail(key.status());
  Result<std::string> token = crypto::IssueActivationToken(*key, *claims);
  if (!token.ok()) return Fail(token.status());
  Result<crypto::SecureBytes> hmac = HmacKey(*ctx.core);
  if (!hmac.ok()) return Fail(hmac.status());
  SecondaryRecord rec;
  rec.id = *id;
  rec.state = "pending";
  rec.created = now;
  rec.token_expires = claims->exp;
  rec.accessor_hash = crypto::HashToken(*hmac, claims->accessor);
  rec.jti_hash = crypto::HashToken(*hmac, claims->jti);
  if (rec.accessor_hash.empty() || rec.jti_hash.empty()) return ErrorResponse(500, "token hashing failed");
  if (Status st = ctx.registry.Put(rec); !st.ok()) return Fail(st);
  spdlog::info("dr: activation token issued for secondary \"{}\" (accessor {}, ttl {} s)", *id, *accessor, *ttl);
  EnvelopeParts parts;
  parts.wrap_info = {{"token", *token},
                     {"accessor", *accessor},
                     {"ttl", *ttl},
                     {"creation_time", Rfc3339Nano(now)},
                     {"creation_path", std::string(kSecondaryTokenPath)}};
  return Envelope(req, std::move(parts));
}

ApiResponse HandleUnwrap(DrContext& ctx, ApiRequest& req) {
  std::string token = req.client_token;
  if (token.empty()) {
    Result<std::string> t = GetString(req.body, "token");
    if (!t.ok()) return Fail(t.status());
    token = *t;
  }
  if (token.empty()) return ErrorResponse(400, "missing wrapping token: send it in X-Vault-Token or as \"token\"");
  if (token.size() > crypto::kMaxJwtSize) return ErrorResponse(400, std::string(kWrappingTokenInvalid));
  const std::string invalid(kWrappingTokenInvalid);

  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "primary") return ErrorResponse(400, invalid + ": this cluster is not a DR primary");
  Result<crypto::EcPrivateKey> key = SigningKey(*ctx.core);
  if (!key.ok()) return Fail(key.status());
  Result<crypto::EcPublicKey> pub = key->PublicKey();
  if (!pub.ok()) return Fail(pub.status());
  const int64_t now = ctx.core->Now();
  Result<crypto::ActivationClaims> claims = crypto::VerifyActivationToken(token, *pub, now);
  // Expiry against the high water too (expiry_clock.h): a clock moved back revives nothing. The
  // not-before check above stays on the real clock.
  if (const int64_t expiry_now = ctx.core->ExpiryNow(/*force_persist=*/true);
      claims.ok() && expiry_now >= claims->exp + 30) {  // 30: VerifyActivationToken's default skew
    claims = Status::Unauthenticated("activation token expired at " + std::to_string(claims->exp) +
                                     " (this node has seen time " + std::to_string(expiry_now) +
                                     "; its clock is not trusted to run backwards); generate a new one on the primary");
  }
  if (!claims.ok()) {
    spdlog::warn("dr: unwrap refused from {}: {}", req.remote_address, claims.status().message());
    return ErrorResponse(400, invalid + ": " + claims.status().message());
  }
  Result<crypto::SecureBytes> hmac = HmacKey(*ctx.core);
  if (!hmac.ok()) return Fail(hmac.status());
  Result<std::vector<SecondaryRecord>> all = ctx.registry.List();
  if (!all.ok()) return Fail(all.status());
  const SecondaryRecord* found = nullptr;
  for (const auto& r : *all) {
    if (r.state == "pending" && crypto::VerifyTokenHash(*hmac, claims->accessor, r.accessor_hash) &&
        crypto::VerifyTokenHash(*hmac, claims->jti, r.jti_hash)) {
      found = &r;
    }
  }
  if (found == nullptr) {
    spdlog::warn("dr: unwrap of an unknown or already used activation token (accessor {}) from {}", claims->accessor,
                 req.remote_address);
    return ErrorResponse(400, invalid);
  }
  SecondaryRecord rec = *found;

  Result<std::optional<DrClusterRecord>> cluster = ctx.registry.LoadCluster();
  if (!cluster.ok()) return Fail(cluster.status());
  if (!cluster->has_value()) return ErrorResponse(500, "DR cluster record is missing; disable and enable DR again");
  Result<crypto::CertifiedKey> ca = LoadCa(ctx, **cluster);
  if (!ca.ok()) return Fail(ca.status());
  crypto::CertificateRequest creq;
  creq.common_name = rec.id;
  creq.cluster_id = (*cluster)->cluster_id;
  creq.usage = crypto::CertificateUsage::kClient;
  Result<crypto::CertifiedKey> client = crypto::IssueCertificate(*ca, creq);
  if (!client.ok()) return Fail(client.status());

  ActivationBundle bundle;
  bundle.cluster_id = (*cluster)->cluster_id;
  bundle.secondary_id = rec.id;
  if (!(*cluster)->primary_cluster_addr.empty()) bundle.primary_replication_addrs.push_back((*cluster)->primary_cluster_addr);
  Result<std::string> repl = ctx.core->control()->ReplicationAddress();
  if (repl.ok() && !repl->empty() && (bundle.primary_replication_addrs.empty() || bundle.primary_replication_addrs[0] != *repl)) {
    bundle.primary_replication_addrs.push_back(*repl);
  }
  if (bundle.primary_replication_addrs.empty()) {
    // Not an internal fault: the primary is not serving replication (no listener, no configured
    // address). The token is not consumed; the operator of the primary can fix it and retry.
    return ErrorResponse(503, "the primary's replication address is unknown (" +
                                  (repl.ok() ? std::string("empty") : repl.status().message()) +
                                  "); set primary_cluster_addr when enabling the primary, or check the plugin");
  }
  bundle.primary_api_addr = ctx.core->api_addr();
  bundle.ca_cert_pem = (*cluster)->ca_cert_pem;
  bundle.client_cert_pem = client->cert_pem;
  bundle.client_key_pem = client->key_pem;
  bundle.epoch = role->epoch;

  // Consume the token (exactly once: we hold the mutex), then admit the secondary.
  SecondaryRecord active = rec;
  active.state = "active";
  active.accessor_hash.clear();
  active.jti_hash.clear();
  active.activated_at = now;
  if (Result<crypto::CertificateInfo> info = crypto::InspectCertificate(client->cert_pem); info.ok()) {
    active.certificate_not_after = static_cast<int64_t>(info->not_after);
  }
  if (Status st = ctx.registry.Put(active); !st.ok()) return Fail(st);
  if (Status st = PushAllowed(ctx); !st.ok()) {
    (void)ctx.registry.Put(rec);  // the token stays usable if the plugin could not be told
    return Fail(st.WithContext("admitting the secondary"));
  }
  spdlog::info("dr: secondary \"{}\" activated from {}", rec.id, req.remote_address);
  return Envelope(req, BundleToJson(bundle, /*include_key=*/true));
}

ApiResponse HandleRevokeSecondary(DrContext& ctx, ApiRequest& req) {
  Result<std::string> id = GetString(req.body, "id");
  if (!id.ok()) return Fail(id.status());
  if (Status v = ValidateSecondaryId(*id); !v.ok()) return Fail(v);
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "primary") return Fail(NotPrimary(*role));
  Result<std::optional<SecondaryRecord>> rec = ctx.registry.Get(*id);
  if (!rec.ok()) return Fail(rec.status());
  if (!rec->has_value()) return ErrorResponse(400, "no secondary with id \"" + *id + "\" is known to this primary");
  if ((*rec)->state == "revoked") return ErrorResponse(400, "the secondary \"" + *id + "\" is already revoked");
  if ((*rec)->state == "pending") {
    // No certificate was issued under it yet: the id is free again.
    if (Status st = ctx.registry.Delete(*id); !st.ok()) return Fail(st);
  } else {
    // Kept as "revoked", not deleted: a new token for the same id would let the revoked machine,
    // whose certificate names that id, back in.
    SecondaryRecord revoked = **rec;
    revoked.state = "revoked";
    revoked.accessor_hash.clear();
    revoked.jti_hash.clear();
    revoked.token_expires = 0;
    if (Status st = ctx.registry.Put(revoked); !st.ok()) return Fail(st);
  }
  if (Status st = PushAllowed(ctx); !st.ok()) return Fail(st);
  if (Status st = ctx.core->control()->RevokeSecondary(*id); !st.ok()) return Fail(st);
  spdlog::info("dr: secondary \"{}\" revoked", *id);
  return NoContent();
}

ApiResponse HandlePrimaryDemote(DrContext& ctx, ApiRequest& req) {
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "primary") return Fail(NotPrimary(*role));
  if (Status st = ctx.core->control()->Demote(); !st.ok()) return Fail(st.WithContext("demote"));
  ctx.core->SetDrSecondary(true);
  ctx.attempt.Cancel();
  std::vector<std::string> warnings = {std::string(kWarnDemoted)};
  // What this node kept from an earlier time as a secondary is stale now; a promotion removes
  // it, but not when the sidecar died between the plugin's promotion and that clean-up: a DR
  // operation token used for that promotion (single use) and the bundle of the primary it followed
  // before (the re-arm loop would re-attach it there).
  Status st = ctx.optokens.RevokeAll();
  if (st.ok()) st = ctx.core->control()->Delete(Store::kLocal, std::string(kDrBundleLocalKey));
  if (!st.ok()) warnings.push_back("demoted, but removing its stale DR operation tokens and kept bundle failed: " + st.message());
  spdlog::info("dr: demoted to DR secondary (no primary; follow a new one with secondary/update-primary)");
  return Envelope(req, nullptr, std::move(warnings));
}

ApiResponse HandlePrimaryDisable(DrContext& ctx, ApiRequest& req) {
  std::lock_guard<std::mutex> lock(ctx.mu);
  Result<PluginRole> role = ReadPluginRole(*ctx.core);
  if (!role.ok()) return Fail(role.status());
  if (role->role != "primary") return Fail(NotPrimary(*role));
  if (Status st = ctx.core->control()->Disable(); !st.ok()) return Fail(st.WithContext("disable"));
  Status st = ctx.registry.Clear();
  if (st.ok()) st = ctx.registry.DeleteCluster();
  ctx.core->SetDrSecondary(false);
  if (!st.ok()) return Fail(st.WithContext("DR disabled, but clearing the registry failed"));
  spdlog::info("dr: DR primary disabled");
  return Envelope(req, nullptr, {std::string(kWarnDisabled)});
}

}  // namespace rocksdr::sidecar
