// Implementation of core.h.
#include "rocksdr/sidecar/core.h"

#include <chrono>
#include <optional>

#include "rocksdr/crypto/keyring.h"

namespace rocksdr::sidecar {

Core::Core(PluginControl* control, CoreOptions options)
    : control_(control),
      options_(std::move(options)),
      seal_(control),
      tokens_(control),
      expiry_(control, [this] { return options_.clock(); }) {
  if (!options_.clock) {
    options_.clock = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

Core::~Core() { StopBackground(); }

void Core::AddBackgroundStop(std::function<void()> stop) {
  std::lock_guard<std::mutex> lock(background_mu_);
  background_stops_.push_back(std::move(stop));
}

void Core::StopBackground() {
  std::vector<std::function<void()>> stops;
  {
    std::lock_guard<std::mutex> lock(background_mu_);
    stops.swap(background_stops_);
  }
  for (auto it = stops.rbegin(); it != stops.rend(); ++it) (*it)();
}

void Core::SetReplicationNotice(std::string notice) {
  std::lock_guard<std::mutex> lock(background_mu_);
  replication_notice_ = std::move(notice);
}

std::string Core::ReplicationNotice() const {
  std::lock_guard<std::mutex> lock(background_mu_);
  return replication_notice_;
}

int64_t Core::Now() const { return options_.clock(); }

std::string Core::api_addr() const {
  std::lock_guard<std::mutex> lock(api_addr_mu_);
  return options_.api_addr;
}

void Core::SetApiAddr(std::string addr) {
  std::lock_guard<std::mutex> lock(api_addr_mu_);
  options_.api_addr = std::move(addr);
}

Result<TokenEntry> Core::Authenticate(std::string_view token) { return UseToken(token); }

void Core::OnResponse(const ApiRequest& /*req*/, int status) { metrics_.RecordResponse(status); }

Result<InitOutput> Core::Initialize(int64_t shares, int64_t threshold) {
  crypto::SecureString root_token;
  Result<std::vector<crypto::SecureBytes>> keys =
      seal_.Initialize(shares, threshold, [&](const crypto::Keyring& keyring) -> Status {
        const crypto::SecureBytes* hmac = keyring.Get(crypto::kTokenHmacKeyName);
        if (hmac == nullptr) return Status::Internal("new keyring has no token HMAC key");
        TokenEntry proto;
        proto.policies = {std::string(kRootPolicy)};
        proto.display_name = "root";
        Result<CreatedToken> created = tokens_.Create(*hmac, std::move(proto), Now());
        if (!created.ok()) return created.status();
        root_token = std::move(created->token);
        return Status::OK();
      });
  if (!keys.ok()) return keys.status();
  return InitOutput{std::move(keys).value(), std::move(root_token)};
}

Result<CreatedToken> Core::CreateToken(TokenEntry proto) {
  Result<crypto::SecureBytes> key = seal_.KeyringValue(crypto::kTokenHmacKeyName);
  if (!key.ok()) return key.status();
  return tokens_.Create(*key, std::move(proto), ExpiryNow(/*force_persist=*/true));
}

Result<TokenEntry> Core::LookupToken(std::string_view token) {
  Result<crypto::SecureBytes> key = seal_.KeyringValue(crypto::kTokenHmacKeyName);
  if (!key.ok()) return key.status();
  return tokens_.Lookup(*key, token, ExpiryNow());
}

Result<TokenEntry> Core::UseToken(std::string_view token) {
  Result<crypto::SecureBytes> key = seal_.KeyringValue(crypto::kTokenHmacKeyName);
  if (!key.ok()) return key.status();
  return tokens_.Use(*key, token, ExpiryNow());
}

Status Core::RevokeToken(std::string_view token) {
  Result<crypto::SecureBytes> key = seal_.KeyringValue(crypto::kTokenHmacKeyName);
  if (!key.ok()) return key.status();
  return tokens_.Revoke(*key, token);
}

Status Core::RefreshRole() {
  Result<nlohmann::json> st = control_->Status();
  if (!st.ok()) return st.status();
  SetDrSecondary(st->is_object() && st->value("role", "") == "secondary");
  return Status::OK();
}

namespace {

// A DR secondary's own view of its link (the plugin's status, control_handler.cc): what to alert
// on where the secondary runs, also while its sidecar is sealed (unauthenticated_metrics_access).
void AppendSecondaryGauges(const nlohmann::json& st, std::vector<Gauge>* gauges) {
  auto number = [](const nlohmann::json& o, const char* field) -> std::optional<double> {
    if (!o.is_object() || !o.contains(field)) return std::nullopt;
    const nlohmann::json& v = o[field];
    if (v.is_number()) return v.get<double>();
    if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
    return std::nullopt;
  };
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& link = st.contains("primary_link") && st["primary_link"].is_object() ? st["primary_link"] : empty;
  const std::string state = link.is_object() ? link.value("state", "") : "";
  gauges->push_back({"rocksdr_primary_link_connected",
                     "1 if this DR secondary is connected to its primary (streaming or bootstrapping).", "",
                     state == "streaming" || state == "bootstrapping" ? 1.0 : 0.0});
  if (auto v = number(link, "lag_sequences")) {
    gauges->push_back({"rocksdr_primary_link_lag_sequences",
                       "Sequences the primary reported (last heartbeat or frame) that this secondary has not applied.",
                       "", *v});
  }
  if (auto v = number(link, "last_heartbeat_unix_ms"); v && *v > 0) {
    gauges->push_back({"rocksdr_primary_link_last_heartbeat_timestamp_seconds",
                       "Unix time of the last frame or heartbeat from the primary (age: time() - this).", "",
                       *v / 1000.0});
  }
  if (auto v = number(link, "halted")) {
    gauges->push_back({"rocksdr_primary_link_halted",
                       "1 if the link stopped on an error that needs an operator (see the status's last_error).", "",
                       *v});
  }
  if (auto v = number(link, "local_storage_failed")) {
    gauges->push_back({"rocksdr_local_storage_failed",
                       "1 while this secondary's own storage failed (disk full) and it waits to retry.", "", *v});
  }
  if (auto v = number(st, "last_sequence_applied")) {
    gauges->push_back({"rocksdr_last_sequence_applied", "The last sequence this secondary applied (its cursor).", "",
                       *v});
  }
  if (st.contains("bootstrap")) {
    if (auto v = number(st["bootstrap"], "active")) {
      gauges->push_back({"rocksdr_bootstrap_in_progress", "1 while this secondary installs a checkpoint.", "", *v});
    }
  }
}

}  // namespace

std::string Core::MetricsText() {
  std::vector<Gauge> gauges;
  Result<bool> init = seal_.Initialized();
  gauges.push_back({"rocksdr_core_initialized", "1 if this node is initialized.", "", init.ok() && *init ? 1.0 : 0.0});
  gauges.push_back({"rocksdr_core_unsealed", "1 if this node is unsealed.", "", seal_.sealed() ? 0.0 : 1.0});
  Result<nlohmann::json> st = control_->Status();
  gauges.push_back({"rocksdr_plugin_up", "1 if the plugin answered its status call.", "", st.ok() ? 1.0 : 0.0});
  if (st.ok() && st->is_object()) {
    const std::string role = st->value("role", "disabled");
    for (const char* m : {"disabled", "primary", "secondary"}) {
      gauges.push_back({"rocksdr_replication_mode", "DR replication mode of this node (1 = current).",
                        "mode=\"" + std::string(m) + "\"", role == m ? 1.0 : 0.0});
    }
    if (st->contains("epoch") && (*st)["epoch"].is_number()) {
      gauges.push_back({"rocksdr_replication_epoch", "Replication epoch.", "", (*st)["epoch"].get<double>()});
    }
    if (role == "secondary") AppendSecondaryGauges(*st, &gauges);
    if (st->contains("secondaries") && (*st)["secondaries"].is_array()) {
      for (const auto& s : (*st)["secondaries"]) {
        if (!s.is_object()) continue;
        const std::string label = "secondary=\"" + Metrics::EscapeLabel(s.value("id", "")) + "\"";
        gauges.push_back({"rocksdr_secondary_connected", "1 if the secondary is connected.", label,
                          s.value("connected", false) ? 1.0 : 0.0});
        for (const char* f : {"lag_sequences", "lag_bytes", "lag_ms"}) {
          if (s.contains(f) && s[f].is_number()) {
            gauges.push_back({std::string("rocksdr_secondary_") + f, std::string("Replication lag (") + f + ").",
                              label, s[f].get<double>()});
          }
        }
      }
    }
  }
  return metrics_.RenderPrometheus(gauges);
}

}  // namespace rocksdr::sidecar
