// sys/init, sys/seal-status, sys/unseal, sys/seal, sys/health, sys/metrics (handlers.h).
// Response shapes are Vault's: these sys endpoints answer bare JSON objects, not envelopes.
#include <chrono>
#include <ctime>

#include <spdlog/spdlog.h>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/sidecar/handlers.h"

namespace rocksdr::sidecar {

namespace {

nlohmann::json SealStatusJson(const SealState& s) {
  nlohmann::json j = {{"type", "shamir"},
                      {"initialized", s.initialized},
                      {"sealed", s.sealed},
                      {"t", s.threshold},
                      {"n", s.shares},
                      {"progress", s.progress},
                      {"nonce", s.nonce},
                      {"version", std::string(kSidecarVersion)},
                      {"build_date", ""},
                      {"migration", false},
                      {"recovery_seal", false},
                      {"storage_type", "rocksdb"}};
  if (s.initialized && !s.sealed) {
    j["cluster_name"] = s.cluster_name;
    j["cluster_id"] = s.cluster_id;
  }
  return j;
}

ApiResponse SealStatus(Core& core) {
  Result<SealState> s = core.seal().State();
  if (!s.ok()) return ErrorFromStatus(s.status());
  return Bare(SealStatusJson(*s));
}

// Vault decodes an unseal key as hex, then as standard base64.
Result<crypto::SecureBytes> DecodeKey(const std::string& key) {
  if (key.size() > 1024) return Status::InvalidArgument("'key' is too long");
  Result<crypto::SecureBytes> hex = crypto::HexDecode(key, 1024);
  if (hex.ok()) return hex;
  Result<crypto::SecureBytes> b64 = crypto::Base64Decode(key, true, 1024);
  if (b64.ok()) return b64;
  return Status::InvalidArgument("'key' must be a valid hex or base64 string");
}

ApiResponse Init(Core& core, ApiRequest& req) {
  for (const char* unsupported : {"pgp_keys", "root_token_pgp_key", "recovery_shares", "recovery_threshold",
                                  "recovery_pgp_keys", "stored_shares"}) {
    const auto it = req.body.find(unsupported);
    if (it != req.body.end() && !it->is_null() && !(it->is_number() && *it == 0) &&
        !(it->is_array() && it->empty()) && !(it->is_string() && it->get<std::string>().empty())) {
      return ErrorResponse(400, std::string("parameter \"") + unsupported + "\" is not supported by rocksdr");
    }
  }
  Result<int64_t> shares = GetInt(req.body, "secret_shares", 0);
  if (!shares.ok()) return ErrorFromStatus(shares.status());
  Result<int64_t> threshold = GetInt(req.body, "secret_threshold", 0);
  if (!threshold.ok()) return ErrorFromStatus(threshold.status());
  Result<InitOutput> out = core.Initialize(*shares, *threshold);
  if (!out.ok()) return ErrorFromStatus(out.status());
  nlohmann::json keys = nlohmann::json::array(), keys_b64 = nlohmann::json::array();
  for (const auto& k : out->keys) {
    keys.push_back(crypto::HexEncode(crypto::AsStringView(k)));
    keys_b64.push_back(crypto::Base64Encode(crypto::AsStringView(k)));
  }
  spdlog::info("core: initialized with {} unseal key(s), threshold {}", *shares, *threshold);
  return Bare({{"keys", keys}, {"keys_base64", keys_b64}, {"root_token", std::string(out->root_token)}});
}

ApiResponse Unseal(Core& core, ApiRequest& req) {
  Result<bool> reset = GetBool(req.body, "reset", false);
  if (!reset.ok()) return ErrorFromStatus(reset.status());
  Result<std::string> key = GetString(req.body, "key");
  if (!key.ok()) return ErrorFromStatus(key.status());
  Result<bool> init = core.seal().Initialized();
  if (!init.ok()) return ErrorFromStatus(init.status());
  if (!*init) return ErrorResponse(400, "rocksdr is not initialized");
  if (*reset) {
    core.seal().ResetUnseal();
    return SealStatus(core);
  }
  if (key->empty()) return ErrorResponse(400, "'key' must be specified in request body as JSON, or 'reset' set to true");
  Result<crypto::SecureBytes> raw = DecodeKey(*key);
  crypto::Zeroize(key->data(), key->size());
  if (!raw.ok()) return ErrorFromStatus(raw.status());
  const bool was_sealed = core.seal().sealed();
  Result<SealState> st = core.seal().SubmitUnsealKey(*raw);
  if (!st.ok()) {
    spdlog::warn("core: unseal attempt failed: {}", st.status().message());
    return ErrorFromStatus(st.status());
  }
  if (was_sealed && !st->sealed) {
    spdlog::info("core: unsealed");
    (void)core.RefreshRole();
  }
  return Bare(SealStatusJson(*st));
}

ApiResponse Health(Core& core, ApiRequest& req) {
  auto code_param = [&](const char* name, int def) -> Result<int> {
    auto it = req.query.find(name);
    if (it == req.query.end()) return def;
    // 200..599, not 204 or 304: those answers carry no body, and health always has one.
    Result<int64_t> v = GetInt(nlohmann::json{{name, it->second}}, name, def, 200, 599);
    if (!v.ok()) return v.status();
    if (*v == 204 || *v == 304) {
      return Status::InvalidArgument(std::string(name) + " must not be 204 or 304 (they carry no body)");
    }
    return static_cast<int>(*v);
  };
  Result<int> active = code_param("activecode", 200), sealed_code = code_param("sealedcode", 503),
              uninit = code_param("uninitcode", 501), drsec = code_param("drsecondarycode", 472);
  for (const auto* r : {&active, &sealed_code, &uninit, &drsec}) {
    if (!r->ok()) return ErrorFromStatus(r->status());
  }
  Result<SealState> s = core.seal().State();
  if (!s.ok()) return ErrorFromStatus(s.status());
  std::string dr_mode = "disabled";
  if (Result<nlohmann::json> st = core.control()->Status(); st.ok() && st->is_object()) {
    dr_mode = st->value("role", "disabled");
  }
  // A DR secondary answers drsecondarycode sealed or not: unlike Vault's, its sidecar stays
  // sealed by design (it holds the primary's keyring, and promotion needs no unseal), so "sealed"
  // is its healthy state and a load balancer must not take it for a broken node.
  int code = *active;
  if (!s->initialized) {
    code = *uninit;
  } else if (core.IsDrSecondary() || dr_mode == "secondary") {
    code = *drsec;
  } else if (s->sealed) {
    code = *sealed_code;
  }
  nlohmann::json body = {{"initialized", s->initialized},
                         {"sealed", s->sealed},
                         {"standby", false},
                         {"performance_standby", false},
                         {"replication_performance_mode", "disabled"},
                         {"replication_dr_mode", dr_mode},
                         {"server_time_utc", core.Now()},
                         {"version", std::string(kSidecarVersion)}};
  if (s->initialized && !s->sealed) {
    body["cluster_name"] = s->cluster_name;
    body["cluster_id"] = s->cluster_id;
  }
  return Bare(std::move(body), code);
}

}  // namespace

Status RegisterSysRoutes(Router& router, Core& core, const SysRouteOptions& options) {
  Core* c = &core;
  ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec("sys/init", {Method::kGet}, AuthRequirement::kNone,
                                                [c](ApiRequest&) {
                                                  Result<bool> i = c->seal().Initialized();
                                                  if (!i.ok()) return ErrorFromStatus(i.status());
                                                  return Bare({{"initialized", *i}});
                                                })
                                          .SetSealedOk()));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("sys/init", {Method::kPost}, AuthRequirement::kNone, [c](ApiRequest& r) { return Init(*c, r); })
          .SetSealedOk()));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("sys/seal-status", {Method::kGet}, AuthRequirement::kNone, [c](ApiRequest&) { return SealStatus(*c); })
          .SetSealedOk()));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("sys/unseal", {Method::kPost}, AuthRequirement::kNone, [c](ApiRequest& r) { return Unseal(*c, r); })
          .SetSealedOk()));
  ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec("sys/seal", {Method::kPost}, AuthRequirement::kRoot,
                                               [c](ApiRequest&) {
                                                 c->seal().Seal();
                                                 spdlog::info("core: sealed by operator request");
                                                 return NoContent();
                                               })));
  // The expiry clock's high water (expiry_clock.h): inspect, and the operator's reset after a
  // clock had been set forward by mistake.
  ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec("sys/clock/high-water", {Method::kGet}, AuthRequirement::kRoot,
                                               [c](ApiRequest& r) {
                                                 ExpiryClock::State st = c->expiry_clock().Inspect();
                                                 return Envelope(r, nlohmann::json{{"clock", st.clock},
                                                                     {"high_water", st.high_water},
                                                                     {"behind_seconds", st.behind}});
                                               })));
  ROCKSDR_RETURN_IF_ERROR(router.Add(RouteSpec("sys/clock/high-water", {Method::kDelete}, AuthRequirement::kRoot,
                                               [c](ApiRequest& r) {
                                                 Result<ExpiryClock::State> st = c->expiry_clock().Reset();
                                                 if (!st.ok()) return ErrorFromStatus(st.status());
                                                 return Envelope(r, nlohmann::json{{"clock", st->clock},
                                                                     {"high_water", st->high_water},
                                                                     {"behind_seconds", st->behind}});
                                               })));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("sys/health", {Method::kGet}, AuthRequirement::kNone, [c](ApiRequest& r) { return Health(*c, r); })
          .SetSealedOk()));
  ROCKSDR_RETURN_IF_ERROR(router.Add(
      RouteSpec("sys/metrics", {Method::kGet},
                options.unauthenticated_metrics ? AuthRequirement::kNone : AuthRequirement::kToken,
                [c](ApiRequest&) {
                  ApiResponse r;
                  r.raw = c->MetricsText();
                  r.content_type = "text/plain; version=0.0.4";
                  return r;
                })
          .SetSealedOk(options.unauthenticated_metrics)));
  return Status::OK();
}

Status RegisterCoreRoutes(Router& router, Core& core, const SysRouteOptions& options) {
  ROCKSDR_RETURN_IF_ERROR(RegisterSysRoutes(router, core, options));
  ROCKSDR_RETURN_IF_ERROR(RegisterReplicationStatusRoutes(router, core));
  ROCKSDR_RETURN_IF_ERROR(RegisterTokenRoutes(router, core));
  return RegisterKvRoutes(router, core);
}

}  // namespace rocksdr::sidecar
