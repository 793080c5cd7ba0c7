// Implementation of memory_plugin_control.h.
#include "rocksdr/sidecar/memory_plugin_control.h"

namespace rocksdr::sidecar {

namespace {
constexpr size_t kMaxKey = 1024;
constexpr size_t kMaxValue = 1 << 20;
}  // namespace

Result<nlohmann::json> MemoryPluginControl::Status() {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json j = {{"role", role_}, {"cluster_id", cluster_id_}, {"epoch", epoch_}};
  if (role_ == "primary") {
    j["state"] = "running";
    j["last_sequence"] = 0;
    j["replication_address"] = replication_address_;
    nlohmann::json secs = nlohmann::json::array();
    for (const auto& id : allowed_) secs.push_back({{"id", id}, {"connected", false}});
    j["secondaries"] = secs;
  } else if (role_ == "secondary") {
    j["state"] = "idle";
    j["secondary"] = {{"connection_state", "disconnected"}, {"applied_sequence", 0},
                      {"primary_api_addr", primary_api_addr_}};
  }
  return j;
}

rocksdr::Status MemoryPluginControl::EnablePrimary(const PrimaryConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  if (role_ != "disabled") return Status::FailedPrecondition("DR replication is already enabled (" + role_ + ")");
  role_ = "primary";
  cluster_id_ = config.cluster_id;
  epoch_ = config.epoch;
  allowed_ = config.allowed_secondary_ids;
  return Status::OK();
}

Result<std::string> MemoryPluginControl::ReplicationAddress() {
  std::lock_guard<std::mutex> lock(mu_);
  if (role_ != "primary") return Status::FailedPrecondition("not a DR primary");
  if (replication_address_.empty()) return Status::FailedPrecondition("in-memory control has no replication listener");
  return replication_address_;
}

rocksdr::Status MemoryPluginControl::SetAllowedSecondaries(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  allowed_ = ids;
  return Status::OK();
}

rocksdr::Status MemoryPluginControl::RevokeSecondary(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  revoked_.push_back(id);
  std::erase(allowed_, id);
  return Status::OK();
}

rocksdr::Status MemoryPluginControl::EnableSecondary(const ActivationBundle& bundle) {
  std::lock_guard<std::mutex> lock(mu_);
  replicated_.clear();  // enabling a secondary wipes the DB
  role_ = "secondary";
  cluster_id_ = bundle.cluster_id;
  epoch_ = bundle.epoch;
  primary_api_addr_ = bundle.primary_api_addr;
  return Status::OK();
}

rocksdr::Status MemoryPluginControl::UpdatePrimary(const std::optional<ActivationBundle>& bundle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (role_ != "secondary") return Status::FailedPrecondition("not a DR secondary");
  primary_api_addr_ = bundle.has_value() ? bundle->primary_api_addr : "";
  if (bundle.has_value()) epoch_ = std::max(epoch_, bundle->epoch);
  return Status::OK();
}

rocksdr::Status MemoryPluginControl::Promote(const PrimaryConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  if (role_ != "secondary") return Status::FailedPrecondition("not a DR secondary");
  if (config.epoch <= epoch_) return Status::InvalidArgument("promotion must raise the epoch");
  role_ = "primary";
  epoch_ = config.epoch;
  allowed_ = config.allowed_secondary_ids;
  return Status::OK();
}

rocksdr::Status MemoryPluginControl::Demote() {
  std::lock_guard<std::mutex> lock(mu_);
  if (role_ != "primary") return Status::FailedPrecondition("not a DR primary");
  role_ = "secondary";
  primary_api_addr_.clear();
  return Status::OK();
}

rocksdr::Status MemoryPluginControl::RequestBootstrap() {
  std::lock_guard<std::mutex> lock(mu_);
  if (role_ != "secondary") return Status::FailedPrecondition("RequestBootstrap needs a DR secondary; this node is " + role_);
  if (primary_api_addr_.empty()) return Status::FailedPrecondition("this secondary follows no primary yet");
  ++bootstraps_requested_;
  return Status::OK();
}

uint64_t MemoryPluginControl::bootstraps_requested() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bootstraps_requested_;
}

rocksdr::Status MemoryPluginControl::Disable() {
  std::lock_guard<std::mutex> lock(mu_);
  role_ = "disabled";
  cluster_id_.clear();
  return Status::OK();
}

Result<std::optional<std::string>> MemoryPluginControl::Get(Store store, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (key.empty() || key.size() > kMaxKey) return Status::InvalidArgument("key must be 1..1024 bytes");
  auto& m = Map(store);
  auto it = m.find(key);
  if (it == m.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

rocksdr::Status MemoryPluginControl::Put(Store store, const std::string& key, std::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (key.empty() || key.size() > kMaxKey) return Status::InvalidArgument("key must be 1..1024 bytes");
  if (value.size() > kMaxValue) return Status::InvalidArgument("value larger than 1 MiB");
  if (store == Store::kReplicated && role_ == "secondary") {
    return Status::FailedPrecondition("DR secondary: the replicated store is written by the replication stream");
  }
  Map(store)[key] = std::string(value);
  return Status::OK();
}

rocksdr::Status MemoryPluginControl::Delete(Store store, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (key.empty() || key.size() > kMaxKey) return Status::InvalidArgument("key must be 1..1024 bytes");
  if (store == Store::kReplicated && role_ == "secondary") {
    return Status::FailedPrecondition("DR secondary: the replicated store is written by the replication stream");
  }
  Map(store).erase(key);
  return Status::OK();
}

Result<std::vector<std::pair<std::string, std::string>>> MemoryPluginControl::Scan(Store store,
                                                                                   const std::string& prefix,
                                                                                   size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  auto& m = Map(store);
  for (auto it = m.lower_bound(prefix); it != m.end() && out.size() < limit; ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.emplace_back(it->first, it->second);
  }
  return out;
}

void MemoryPluginControl::SetReplicationAddress(std::string addr) {
  std::lock_guard<std::mutex> lock(mu_);
  replication_address_ = std::move(addr);
}
std::string MemoryPluginControl::role() const {
  std::lock_guard<std::mutex> lock(mu_);
  return role_;
}
uint64_t MemoryPluginControl::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}
std::vector<std::string> MemoryPluginControl::allowed_secondaries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return allowed_;
}
std::vector<std::string> MemoryPluginControl::revoked_secondaries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revoked_;
}
std::map<std::string, std::string> MemoryPluginControl::Dump(Store store) const {
  std::lock_guard<std::mutex> lock(mu_);
  return store == Store::kReplicated ? replicated_ : local_;
}
void MemoryPluginControl::CopyReplicatedFrom(const MemoryPluginControl& other) {
  auto copy = other.Dump(Store::kReplicated);
  std::lock_guard<std::mutex> lock(mu_);
  replicated_ = std::move(copy);
}

}  // namespace rocksdr::sidecar
