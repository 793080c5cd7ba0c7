// Implementation of ControlHandler (control_server.h): the control socket's ops on a Replicator.
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <ctime>

#include "control_consistency.h"
#include "control_server.h"
#include "replicated_db.h"
#include "reserved_cf.h"
#include "rocks_status.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/role.h"
#include "rocksdr/replication/consistency_ops.h"
#include "rocksdr/sidecar/net_address.h"

namespace rocksdr::plugin {

namespace ctl = replication::control;
using nlohmann::json;

std::string_view ConnectionStateName(ConnectionState state) {
  switch (state) {
    case ConnectionState::kDisconnected: return "disconnected";
    case ConnectionState::kConnecting: return "connecting";
    case ConnectionState::kBootstrapping: return "bootstrapping";
    case ConnectionState::kStreaming: return "streaming";
    case ConnectionState::kNeedsBootstrap: return "needs-bootstrap";
    case ConnectionState::kRevoked: return "revoked";
  }
  return "unknown";
}

namespace {
// "2006-01-02T15:04:05Z" from Unix milliseconds ("" for 0 = never).
std::string Rfc3339(int64_t unix_ms) {
  if (unix_ms <= 0) return "";
  const time_t t = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "";
  return buf;
}
}  // namespace

json StatusToJson(const ReplicationStatus& st) {
  json j;
  j["role"] = std::string(RoleName(st.role));
  j["epoch"] = st.epoch;
  j["cluster_id"] = st.cluster_id;
  // Vault-like one-word summary.
  std::string state = "idle";
  if (st.role == Role::kDisabled) {
    state = "disabled";
  } else if (st.role == Role::kPrimary) {
    state = st.fenced_reason.empty() ? "running" : "fenced";
  } else {
    switch (st.primary_link.state) {
      case ConnectionState::kStreaming: state = "stream-wals"; break;
      case ConnectionState::kBootstrapping: state = "bootstrapping"; break;
      case ConnectionState::kConnecting: state = "connecting"; break;
      case ConnectionState::kRevoked: state = "revoked"; break;
      case ConnectionState::kNeedsBootstrap: state = "needs-bootstrap"; break;
      case ConnectionState::kDisconnected: state = st.primary_link.primary_address.empty() ? "idle" : "connecting";
    }
    // Retrying after this node's own storage failed (disk full): say so rather than "connecting".
    if (st.primary_link.local_storage_failed && st.primary_link.state == ConnectionState::kDisconnected) {
      state = "local-storage-failed";
    }
  }
  j["state"] = state;
  j["last_sequence_written"] = st.last_sequence_written;
  j["last_sequence"] = st.last_sequence_written;  // the sidecar's name for it
  j["last_sequence_applied"] = st.last_sequence_applied ? json(*st.last_sequence_applied) : json(nullptr);
  j["wal"] = {{"oldest_sequence", st.wal.oldest_sequence},
              {"latest_sequence", st.wal.latest_sequence},
              {"file_count", st.wal.file_count},
              {"total_bytes", st.wal.total_bytes},
              {"oldest_file_age_seconds", st.wal.oldest_file_age_seconds},
              {"ttl_seconds", st.wal.ttl_seconds},
              {"size_limit_mb", st.wal.size_limit_mb}};
  json secs = json::array();
  for (const SecondaryStatus& s : st.secondaries) {
    secs.push_back({{"id", s.id},
                    {"state", std::string(ConnectionStateName(s.state))},
                    {"connected", s.state == ConnectionState::kStreaming || s.state == ConnectionState::kBootstrapping},
                    {"acked_sequence", s.acked_sequence},
                    {"durable_sequence", s.durable_sequence},
                    {"lag_sequences", s.lag_sequences},
                    {"lag_bytes", s.lag_bytes},
                    {"lag_ms", s.lag_ms},
                    {"bytes_sent", s.bytes_sent},
                    {"frames_sent", s.frames_sent},
                    {"last_heartbeat_unix_ms", s.last_heartbeat_unix_ms},
                    {"last_heartbeat", Rfc3339(s.last_heartbeat_unix_ms)},
                    {"needs_bootstrap_reason", s.needs_bootstrap_reason}});
  }
  j["secondaries"] = std::move(secs);
  j["bootstrap"] = {{"active", st.bootstrap.active},
                    {"in_progress", st.bootstrap.active},
                    {"checkpoint_sequence", st.bootstrap.checkpoint_sequence},
                    {"files_done", st.bootstrap.files_done},
                    {"files_total", st.bootstrap.files_total},
                    {"bytes_done", st.bootstrap.bytes_done},
                    {"bytes_total", st.bootstrap.bytes_total},
                    {"reason", st.bootstrap.reason},
                    {"bootstraps", st.bootstrap.bootstraps}};
  const PrimaryLinkStatus& p = st.primary_link;
  j["primary_link"] = {{"state", std::string(ConnectionStateName(p.state))},
                       {"primary_address", p.primary_address},
                       {"primary_epoch", p.primary_epoch},
                       {"primary_sequence", p.primary_sequence},
                       {"lag_sequences", p.lag_sequences},
                       {"last_heartbeat_unix_ms", p.last_heartbeat_unix_ms},
                       {"reconnects", p.reconnects},
                       {"halted", p.halted},
                       {"last_error", p.last_error},
                       {"next_retry_unix_ms", p.next_retry_unix_ms},
                       {"next_retry", Rfc3339(p.next_retry_unix_ms)},
                       {"retry_in_ms", p.retry_in_ms},
                       {"local_storage_failed", p.local_storage_failed},
                       {"local_storage_error", p.local_storage_error},
                       {"storage_retry_attempt", p.storage_retry_attempt}};
  if (st.role == Role::kSecondary) {
    // The secondary summary the sidecar reads (identity fields are added by the handler).
    const bool connected = p.state == ConnectionState::kStreaming || p.state == ConnectionState::kBootstrapping;
    j["secondary"] = {{"connection_state", connected ? "connected" : std::string(ConnectionStateName(p.state))},
                      {"applied_sequence", st.last_sequence_applied.value_or(0)},
                      {"primary_address", p.primary_address},
                      {"lag_sequences", p.lag_sequences},
                      {"last_heartbeat", Rfc3339(p.last_heartbeat_unix_ms)}};
  }
  // Synchronous replication (flat names for the sidecar, the CLI and the UI; details in "sync").
  const SyncReplicationStatus& sy = st.sync;
  j["ack_mode"] = std::string(AckModeName(sy.mode));
  j["ack_count"] = sy.count;
  j["sync_degraded"] = sy.degraded;
  j["sync_degraded_reason"] = sy.degraded_reason;
  j["sync"] = {{"ack_mode", std::string(AckModeName(sy.mode))},
               {"ack_count", sy.count},
               {"timeout_ms", sy.timeout_ms},
               {"on_timeout", std::string(AckTimeoutPolicyName(sy.on_timeout))},
               {"degraded", sy.degraded},
               {"degraded_since_unix_ms", sy.degraded_since_unix_ms},
               {"degraded_since", Rfc3339(sy.degraded_since_unix_ms)},
               {"degraded_reason", sy.degraded_reason},
               {"confirmed_sequence", sy.confirmed_sequence},
               {"writes_waiting", sy.writes_waiting},
               {"writes_confirmed", sy.writes_confirmed},
               {"writes_unconfirmed", sy.writes_unconfirmed},
               {"timeouts", sy.timeouts},
               {"degradations", sy.degradations}};
  const ShippingStatus& sh = st.shipping;
  j["shipping"] = {{"ring_capacity_bytes", sh.ring_capacity_bytes}, {"ring_bytes", sh.ring_bytes},
                   {"ring_entries", sh.ring_entries},               {"ring_batches", sh.ring_batches},
                   {"wal_batches", sh.wal_batches},                 {"ring_misses", sh.ring_misses},
                   {"ring_waits", sh.ring_waits},                   {"trims", sh.trims},
                   {"iterator_creations", sh.iterator_creations}};
  j["fenced_reason"] = st.fenced_reason;
  j["external_ingestions"] = st.external_ingestions;
  j["listener_attached"] = st.listener_attached;
  j["background_error"] = st.background_error;
  return j;
}

namespace {

constexpr const char* kSecondaryWriteRefusal =
    "DR secondary: the replicated store is written only by the replication stream";

// Best effort: private keys should not linger in JSON copies.
void ZeroizeString(std::string* s) { crypto::Zeroize(s->data(), s->size()); }

std::string StoreKey(sidecar::Store store, const std::string& key) {
  return store == sidecar::Store::kLocal ? std::string(kSidecarLocalPrefix) + key : key;
}

rocksdb::ColumnFamilyHandle* StoreCf(ReplicatedDBImpl* impl, sidecar::Store store) {
  return store == sidecar::Store::kLocal ? impl->local_cf() : impl->replicated_cf();
}

Result<std::string> GetKey(const json& args, std::string_view field) {
  auto key = ctl::GetBytes(args, field, ctl::kMaxKeyBytes);
  if (!key.ok()) return key.status();
  if (key->empty()) return Status::InvalidArgument("field '" + std::string(field) + "': the key is empty");
  return key;
}

}  // namespace

namespace {
// A random id for this handler; "" if the system RNG fails (status then omits nothing, the
// sidecar falls back to the role/serving check).
std::string NewInstanceId() {
  auto id = crypto::RandomUuid();
  return id.ok() ? *id : std::string();
}
}  // namespace

ControlHandler::ControlHandler(Replicator* replicator, ControlServerOptions options)
    : replicator_(replicator), options_(std::move(options)), instance_id_(NewInstanceId()) {}

Result<std::optional<std::string>> LoadLocal(Replicator* replicator, std::string_view key) {
  std::optional<std::string> raw;
  ROCKSDR_RETURN_IF_ERROR(replicator->WithDb([&](ReplicatedDB* db, const auto&) -> rocksdr::Status {
    ReplicatedDBImpl* impl = ReplicatedDBImpl::From(db);
    std::string v;
    rocksdb::Status s = impl->base()->Get(rocksdb::ReadOptions(), impl->local_cf(), std::string(key), &v);
    if (s.IsNotFound()) return rocksdr::Status::OK();
    if (!s.ok()) return FromRocks(s, "reading " + std::string(key));
    raw = std::move(v);
    return rocksdr::Status::OK();
  }));
  return raw;
}

Status SaveLocal(Replicator* replicator, std::string_view key, const std::optional<std::string>& value) {
  return replicator->WithDb([&](ReplicatedDB* db, const auto&) -> rocksdr::Status {
    ReplicatedDBImpl* impl = ReplicatedDBImpl::From(db);
    rocksdb::WriteBatch batch;
    rocksdb::Status s = value ? batch.Put(impl->local_cf(), std::string(key), *value)
                              : batch.Delete(impl->local_cf(), std::string(key));
    if (s.ok()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      s = impl->InternalWrite(wo, &batch);
    }
    return FromRocks(s, "saving " + std::string(key));
  });
}

Result<std::optional<std::set<std::string>>> LoadAllowedSecondaries(Replicator* replicator) {
  auto raw = LoadLocal(replicator, kLocalKeyAllowedSecondaries);
  if (!raw.ok()) return raw.status();
  if (!*raw) return std::optional<std::set<std::string>>();
  auto j = ctl::ParseMessageBody("{\"ids\":" + **raw + "}");
  if (!j.ok()) return Status::Corruption("the stored allowed secondaries are not a JSON array");
  auto ids = ctl::GetStringList(*j, "ids", ctl::kMaxIdBytes, ctl::kMaxIds);
  if (!ids.ok()) return Status::Corruption("the stored allowed secondaries: " + ids.status().message());
  return std::optional<std::set<std::string>>(std::set<std::string>(ids->begin(), ids->end()));
}

Status SaveAllowedSecondaries(Replicator* replicator, const std::optional<std::set<std::string>>& ids) {
  std::optional<std::string> value;
  if (ids) value = json(std::vector<std::string>(ids->begin(), ids->end())).dump();
  return SaveLocal(replicator, kLocalKeyAllowedSecondaries, value);
}

Result<json> ControlHandler::Handle(const ctl::Request& r) {
  const std::string& op = r.op;
  if (op == ctl::kOpStatus) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(r.args, {}, "status"));
    return StatusJson();
  }
  if (op == ctl::kOpEnablePrimary) return EnablePrimary(r.args, /*promote=*/false);
  if (op == ctl::kOpPromote) return EnablePrimary(r.args, /*promote=*/true);
  if (op == ctl::kOpReplicationAddress) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(r.args, {}, "replication_address"));
    return ReplicationAddress();
  }
  if (op == ctl::kOpSetAllowedSecondaries) return SetAllowed(r.args);
  if (op == ctl::kOpRevokeSecondary) return Revoke(r.args);
  if (op == ctl::kOpEnableSecondary) return EnableSecondary(r.args, /*update=*/false);
  if (op == ctl::kOpUpdatePrimary) return EnableSecondary(r.args, /*update=*/true);
  if (op == ctl::kOpDemote) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(r.args, {}, "demote"));
    ROCKSDR_RETURN_IF_ERROR(replicator_->Demote());
    return json::object();
  }
  if (op == ctl::kOpDisable) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(r.args, {}, "disable"));
    ROCKSDR_RETURN_IF_ERROR(replicator_->Disable());
    return json::object();
  }
  if (op == ctl::kOpRequestBootstrap) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(r.args, {}, "request_bootstrap"));
    ROCKSDR_RETURN_IF_ERROR(replicator_->RequestBootstrap());
    return json::object();
  }
  if (op == ctl::kOpGet) return Get(r.args);
  if (op == ctl::kOpPut) return Write(r.args, /*is_delete=*/false);
  if (op == ctl::kOpDelete) return Write(r.args, /*is_delete=*/true);
  if (op == ctl::kOpScan) return Scan(r.args);
  if (ctl::IsConsistencyOp(op)) return HandleConsistencyOp(replicator_, op, r.args);
  if (op == ctl::kOpHello) return Status::FailedPrecondition("hello was already answered on this connection");
  return Status::InvalidArgument("unknown op '" + op.substr(0, ctl::kMaxOpBytes) +
                                 "' (this plugin speaks control protocol version " +
                                 std::to_string(ctl::kProtocolVersion) + ")");
}

Result<json> ControlHandler::StatusJson() {
  const ReplicationStatus st = replicator_->GetStatus();
  json j = StatusToJson(st);
  // The DB may be closed for a bootstrap: report what is known, never fail status for it.
  auto allowed = LoadAllowedSecondaries(replicator_);
  j["allowed_secondaries"] = allowed.ok() && *allowed
                                 ? json(std::vector<std::string>((*allowed)->begin(), (*allowed)->end()))
                                 : json::array();
  auto addr = ReplicationAddress();
  j["replication_address"] = addr.ok() ? (*addr)["address"] : json("");
  j["control_protocol_version"] = ctl::kProtocolVersion;
  j["instance_id"] = instance_id_;
  if (j.contains("secondary")) {
    std::string text;
    auto stored = LoadLocal(replicator_, kLocalKeySecondaryLink);
    {
      std::lock_guard<std::mutex> l(link_mu_);
      if (stored.ok() && *stored) {
        text = **stored;
      } else if (!link_.empty()) {
        // A bootstrap replaced the node-local column family (it keeps only role, epoch, cluster
        // id): put the link back once the DB is open again.
        text = link_;
        if (stored.ok()) (void)SaveLocal(replicator_, kLocalKeySecondaryLink, link_);
      }
    }
    auto parsed = text.empty() ? Result<json>(Status::NotFound("")) : ctl::ParseMessageBody(text);
    if (parsed.ok()) {
      j["secondary"]["secondary_id"] = parsed->value("secondary_id", "");
      j["secondary"]["primary_api_addr"] = parsed->value("primary_api_addr", "");
    }
  }
  return j;
}

Result<std::string> ControlHandler::ListenAddress() {
  if (!options_.replication_listen_address.empty()) return options_.replication_listen_address;
  std::string configured;
  ROCKSDR_RETURN_IF_ERROR(replicator_->WithDb([&](ReplicatedDB* db, const auto&) {
    configured = db->plugin_options().replication_listen_address;
    return Status::OK();
  }));
  return configured;
}

Result<rocksdr::PrimaryConfig> ControlHandler::ToPrimaryConfig(const sidecar::PrimaryConfig& config) const {
  rocksdr::PrimaryConfig c;
  c.cluster_id = config.cluster_id;
  c.epoch = std::max<uint64_t>(config.epoch, 1);
  c.listen_address = options_.replication_listen_address;
  c.tls.cert_pem = config.server_cert_pem;
  c.tls.key_pem = config.server_key_pem;
  c.tls.ca_pem = config.ca_cert_pem;
  // The Replicator owns the server that calls this, so it outlives the callback.
  Replicator* r = replicator_;
  c.authorize = [r](const std::string& id) -> rocksdr::Status {
    auto allowed = LoadAllowedSecondaries(r);
    if (!allowed.ok()) return allowed.status();
    if (*allowed && (*allowed)->count(id) != 0) return Status::OK();
    return Status::PermissionDenied("secondary '" + id + "' is not in this primary's registry (never added, or "
                                    "revoked): generate a new secondary activation token on the primary");
  };
  return c;
}

Result<SecondaryBundle> ControlHandler::ToBundle(const sidecar::ActivationBundle& bundle) const {
  SecondaryBundle b;
  b.cluster_id = bundle.cluster_id;
  b.epoch = std::max<uint64_t>(bundle.epoch, 1);
  b.secondary_id = bundle.secondary_id;
  // The runtime follows one address; the first is the primary's advertised listener.
  b.primary_address = bundle.primary_replication_addrs.front();
  b.tls.cert_pem = bundle.client_cert_pem;
  b.tls.key_pem = bundle.client_key_pem;
  b.tls.ca_pem = bundle.ca_cert_pem;
  b.verify_primary_host = options_.verify_primary_host;
  return b;
}

Result<json> ControlHandler::EnablePrimary(const json& args, bool promote) {
  const char* what = promote ? "promote" : "enable_primary";
  ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"config"}, what));
  auto it = args.find("config");
  if (it == args.end()) return Status::InvalidArgument(std::string(what) + ": missing field 'config'");
  auto config = ctl::PrimaryConfigFromJson(*it);
  if (!config.ok()) return config.status().WithContext(what);
  if (!promote && config->cluster_id.empty()) {
    return Status::InvalidArgument("enable_primary: config.cluster_id is empty");
  }
  auto c = ToPrimaryConfig(*config);
  if (!c.ok()) return c.status();
  std::lock_guard<std::mutex> l(allow_mu_);
  auto previous = LoadAllowedSecondaries(replicator_);
  if (!previous.ok()) return previous.status();
  ROCKSDR_RETURN_IF_ERROR(SaveAllowedSecondaries(
      replicator_, std::set<std::string>(config->allowed_secondary_ids.begin(), config->allowed_secondary_ids.end())));
  rocksdr::Status s = promote ? replicator_->Promote(*c) : replicator_->BecomePrimary(*c);
  c->tls.key_pem.clear();
  if (!s.ok()) {
    (void)SaveAllowedSecondaries(replicator_, *previous);  // best effort: the DB may be what failed
    return s;
  }
  return json::object();
}

Result<json> ControlHandler::ReplicationAddress() {
  const uint16_t port = replicator_->port();
  if (port == 0) {
    return Status::FailedPrecondition("no replication listener: this node is not serving as a DR primary (enable "
                                      "it as primary first)");
  }
  auto listen = ListenAddress();
  if (!listen.ok()) return listen.status();
  std::string host = "127.0.0.1";
  if (!listen->empty()) {
    auto hp = sidecar::ParseHostPort(*listen);
    if (!hp.ok()) return hp.status().WithContext("replication listen address");
    host = hp->host;
  }
  return json{{"address", sidecar::FormatHostPort(host, port)}};
}

Result<json> ControlHandler::SetAllowed(const json& args) {
  ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"ids"}, "set_allowed_secondaries"));
  auto ids = ctl::GetStringList(args, "ids", ctl::kMaxIdBytes, ctl::kMaxIds);
  if (!ids.ok()) return ids.status().WithContext("set_allowed_secondaries");
  std::lock_guard<std::mutex> l(allow_mu_);
  ROCKSDR_RETURN_IF_ERROR(SaveAllowedSecondaries(replicator_, std::set<std::string>(ids->begin(), ids->end())));
  return json::object();
}

Result<json> ControlHandler::Revoke(const json& args) {
  ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"id"}, "revoke_secondary"));
  auto id = ctl::GetString(args, "id", ctl::kMaxIdBytes);
  if (!id.ok()) return id.status().WithContext("revoke_secondary");
  if (id->empty()) return Status::InvalidArgument("revoke_secondary: field 'id' is empty");
  {
    std::lock_guard<std::mutex> l(allow_mu_);
    auto allowed = LoadAllowedSecondaries(replicator_);
    if (!allowed.ok()) return allowed.status();
    if (*allowed && (*allowed)->erase(*id) != 0) ROCKSDR_RETURN_IF_ERROR(SaveAllowedSecondaries(replicator_, *allowed));
  }
  ROCKSDR_RETURN_IF_ERROR(replicator_->Revoke(*id));
  return json::object();
}

Result<json> ControlHandler::EnableSecondary(const json& args, bool update) {
  const char* what = update ? "update_primary" : "enable_secondary";
  ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"bundle"}, what));
  auto it = args.find("bundle");
  if (it == args.end()) return Status::InvalidArgument(std::string(what) + ": missing field 'bundle'");
  if (it->is_null()) {
    // PluginControl::UpdatePrimary(nullopt): the runtime has no "detach without a replacement".
    return Status::FailedPrecondition(std::string(what) +
                                      ": this plugin cannot forget its primary without a replacement; pass the new "
                                      "primary's activation bundle (or disable replication)");
  }
  auto bundle = ctl::BundleFromJson(*it);
  if (!bundle.ok()) return bundle.status().WithContext(what);
  auto b = ToBundle(*bundle);
  if (!b.ok()) return b.status();
  // What status reports about the primary this node follows (not a secret). Written first: once
  // following, the DB may be closed for a bootstrap.
  const std::string link =
      json{{"secondary_id", bundle->secondary_id}, {"primary_api_addr", bundle->primary_api_addr}}.dump();
  {
    std::lock_guard<std::mutex> l(link_mu_);
    ROCKSDR_RETURN_IF_ERROR(SaveLocal(replicator_, kLocalKeySecondaryLink, link));
    link_ = link;
  }
  rocksdr::Status s = update ? replicator_->UpdatePrimary(*b) : replicator_->BecomeSecondary(*b);
  b->tls.key_pem.clear();
  ROCKSDR_RETURN_IF_ERROR(s);
  return json::object();
}

Result<json> ControlHandler::Get(const json& args) {
  ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"store", "key_b64"}, "get"));
  auto store = ctl::ParseStore(args);
  if (!store.ok()) return store.status().WithContext("get");
  auto key = GetKey(args, "key_b64");
  if (!key.ok()) return key.status().WithContext("get");
  std::optional<std::string> value;
  ROCKSDR_RETURN_IF_ERROR(replicator_->WithDb([&](ReplicatedDB* db, const auto&) -> rocksdr::Status {
    ReplicatedDBImpl* impl = ReplicatedDBImpl::From(db);
    std::string v;
    rocksdb::Status s = impl->base()->Get(rocksdb::ReadOptions(), StoreCf(impl, *store), StoreKey(*store, *key), &v);
    if (s.IsNotFound()) return rocksdr::Status::OK();
    if (!s.ok()) return FromRocks(s, "reading the " + std::string(ctl::StoreName(*store)) + " store");
    value = std::move(v);
    return rocksdr::Status::OK();
  }));
  if (!value) return json{{"found", false}};
  if (value->size() > ctl::kMaxValueBytes) {
    return Status::Corruption("the stored value is " + std::to_string(value->size()) +
                              " bytes, above the control socket's limit of " + std::to_string(ctl::kMaxValueBytes));
  }
  json out{{"found", true}, {"value_b64", ctl::EncodeBytes(*value)}};
  ZeroizeString(&*value);
  return out;
}

Result<json> ControlHandler::Write(const json& args, bool is_delete) {
  const char* what = is_delete ? "delete" : "put";
  if (is_delete) {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"store", "key_b64"}, what));
  } else {
    ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"store", "key_b64", "value_b64"}, what));
  }
  auto store = ctl::ParseStore(args);
  if (!store.ok()) return store.status().WithContext(what);
  auto key = GetKey(args, "key_b64");
  if (!key.ok()) return key.status().WithContext(what);
  std::string value;
  if (!is_delete) {
    auto v = ctl::GetBytes(args, "value_b64", ctl::kMaxValueBytes);
    if (!v.ok()) return v.status().WithContext(what);
    value = std::move(*v);
  }
  rocksdr::Status st = replicator_->WithDb([&](ReplicatedDB* db, const auto&) -> rocksdr::Status {
    ReplicatedDBImpl* impl = ReplicatedDBImpl::From(db);
    if (*store == sidecar::Store::kReplicated && impl->role() == Role::kSecondary) {
      return Status::FailedPrecondition(kSecondaryWriteRefusal);
    }
    rocksdb::WriteBatch batch;
    rocksdb::Status s = is_delete ? batch.Delete(StoreCf(impl, *store), StoreKey(*store, *key))
                                  : batch.Put(StoreCf(impl, *store), StoreKey(*store, *key), value);
    if (s.ok()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      s = impl->InternalWrite(wo, &batch);
    }
    if (!s.ok()) return FromRocks(s, "writing the " + std::string(ctl::StoreName(*store)) + " store");
    return rocksdr::Status::OK();
  });
  ZeroizeString(&value);
  ROCKSDR_RETURN_IF_ERROR(st);
  return json::object();
}

Result<json> ControlHandler::Scan(const json& args) {
  ROCKSDR_RETURN_IF_ERROR(ctl::CheckFields(args, {"store", "prefix_b64", "limit", "start_after_b64"}, "scan"));
  auto store = ctl::ParseStore(args);
  if (!store.ok()) return store.status().WithContext("scan");
  auto prefix = ctl::GetBytes(args, "prefix_b64", ctl::kMaxKeyBytes, /*required=*/false);
  if (!prefix.ok()) return prefix.status().WithContext("scan");
  auto limit = ctl::GetUint(args, "limit");
  if (!limit.ok()) return limit.status().WithContext("scan");
  if (*limit > ctl::kMaxScanLimit) {
    return Status::InvalidArgument("scan: limit " + std::to_string(*limit) + " is above " +
                                   std::to_string(ctl::kMaxScanLimit));
  }
  auto after = ctl::GetBytes(args, "start_after_b64", ctl::kMaxKeyBytes, /*required=*/false);
  if (!after.ok()) return after.status().WithContext("scan");
  if (!after->empty() && after->compare(0, prefix->size(), *prefix) != 0) {
    return Status::InvalidArgument("scan: start_after_b64 must start with the prefix");
  }
  const size_t max_entries = std::min<uint64_t>(*limit, ctl::kMaxScanEntriesPerResponse);
  json entries = json::array();
  bool more = false;
  ROCKSDR_RETURN_IF_ERROR(replicator_->WithDb([&](ReplicatedDB* db, const auto&) -> rocksdr::Status {
    ReplicatedDBImpl* impl = ReplicatedDBImpl::From(db);
    const std::string full_prefix = StoreKey(*store, *prefix);
    const size_t strip = *store == sidecar::Store::kLocal ? kSidecarLocalPrefix.size() : 0;
    std::unique_ptr<rocksdb::Iterator> it(impl->base()->NewIterator(rocksdb::ReadOptions(), StoreCf(impl, *store)));
    const std::string start = after->empty() ? full_prefix : StoreKey(*store, *after);
    size_t bytes = 0;
    for (it->Seek(start); it->Valid(); it->Next()) {
      const rocksdb::Slice k = it->key();
      if (!k.starts_with(full_prefix)) break;
      if (!after->empty() && k == rocksdb::Slice(start)) continue;
      const size_t entry = k.size() - strip + it->value().size();
      if (entries.size() >= max_entries || (!entries.empty() && bytes + entry > ctl::kMaxScanBytesPerResponse)) {
        more = entries.size() < *limit;
        break;
      }
      if (k.size() - strip > ctl::kMaxKeyBytes || it->value().size() > ctl::kMaxValueBytes) {
        return Status::Corruption("scan: a stored entry exceeds the control socket's key/value limits");
      }
      bytes += entry;
      entries.push_back({{"key_b64", ctl::EncodeBytes(std::string_view(k.data() + strip, k.size() - strip))},
                         {"value_b64", ctl::EncodeBytes(std::string_view(it->value().data(), it->value().size()))}});
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scanning the store");
    return rocksdr::Status::OK();
  }));
  return json{{"entries", std::move(entries)}, {"more", more}};
}

}  // namespace rocksdr::plugin
