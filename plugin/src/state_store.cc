// StateStore; see state_store.h.
#include "state_store.h"

#include <cctype>

#include "coding.h"
#include "reserved_cf.h"
#include "rocks_status.h"

namespace rocksdr::plugin {

namespace {
constexpr size_t kMaxClusterIdBytes = 64;
}

Status StateStore::ValidateClusterId(const std::string& cluster_id) {
  if (cluster_id.size() > kMaxClusterIdBytes) {
    return Status::InvalidArgument("cluster id is longer than 64 bytes");
  }
  for (char c : cluster_id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return Status::InvalidArgument("cluster id may contain only letters, digits and '-'");
    }
  }
  return Status::OK();
}

Result<std::optional<std::string>> StateStore::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), local_cf_, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading rocksdr local state '" + std::string(key) + "'");
  return std::optional<std::string>(std::move(value));
}

Result<NodeState> StateStore::Load() const {
  NodeState state;
  Result<std::optional<std::string>> role = Get(kLocalKeyRole);
  if (!role.ok()) return role.status();
  if (role->has_value()) {
    Result<Role> parsed = ParseRole(**role);
    if (!parsed.ok()) return Status::Corruption("rocksdr local state 'role': " + parsed.status().message());
    state.role = *parsed;
  }
  Result<std::optional<std::string>> epoch = Get(kLocalKeyEpoch);
  if (!epoch.ok()) return epoch.status();
  if (epoch->has_value()) {
    std::optional<uint64_t> e = DecodeFixed64(**epoch);
    if (!e) return Status::Corruption("rocksdr local state 'epoch' is not 8 bytes");
    state.epoch = *e;
  }
  Result<std::optional<std::string>> cluster = Get(kLocalKeyClusterId);
  if (!cluster.ok()) return cluster.status();
  if (cluster->has_value()) {
    Status st = ValidateClusterId(**cluster);
    if (!st.ok()) return Status::Corruption("rocksdr local state 'cluster_id': " + st.message());
    state.cluster_id = **cluster;
  }
  Result<std::optional<std::string>> fence = Get(kLocalKeyFence);
  if (!fence.ok()) return fence.status();
  state.fence = std::move(*fence);
  return state;
}

Status StateStore::Save(Role role, uint64_t epoch, const std::string& cluster_id, rocksdb::WriteBatch* batch) {
  ROCKSDR_RETURN_IF_ERROR(ValidateClusterId(cluster_id));
  rocksdb::WriteBatch local;
  if (batch == nullptr) batch = &local;
  const std::string_view role_name = RoleName(role);
  rocksdb::Status s = batch->Put(local_cf_, rocksdb::Slice(kLocalKeyRole.data(), kLocalKeyRole.size()),
                                 rocksdb::Slice(role_name.data(), role_name.size()));
  if (s.ok()) {
    s = batch->Put(local_cf_, rocksdb::Slice(kLocalKeyEpoch.data(), kLocalKeyEpoch.size()), EncodeFixed64(epoch));
  }
  if (s.ok()) {
    s = batch->Put(local_cf_, rocksdb::Slice(kLocalKeyClusterId.data(), kLocalKeyClusterId.size()), cluster_id);
  }
  if (s.ok()) {
    // Only when there is one: the batch's record count is part of what the tailer reports.
    Result<std::optional<std::string>> fence = Get(kLocalKeyFence);
    if (!fence.ok()) return fence.status();
    if (fence->has_value()) s = batch->Delete(local_cf_, rocksdb::Slice(kLocalKeyFence.data(), kLocalKeyFence.size()));
  }
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Write(wo, batch);
  }
  return FromRocks(s, "persisting rocksdr role/epoch/cluster id");
}

Result<std::string> StateStore::ReadHistory() const {
  Result<std::optional<std::string>> raw = Get(kLocalKeyHistory);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::string();
  const std::string& v = **raw;
  if (v.empty() || v.size() > 64) return std::string();
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e || c == ':' || c == '%') return std::string();
  }
  return v;
}

Status StateStore::SaveFence(const std::optional<std::string>& reason) {
  rocksdb::WriteBatch batch;
  const rocksdb::Slice key(kLocalKeyFence.data(), kLocalKeyFence.size());
  rocksdb::Status s = reason ? batch.Put(local_cf_, key, *reason) : batch.Delete(local_cf_, key);
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Write(wo, &batch);
  }
  return FromRocks(s, reason ? "persisting the write fence" : "removing the persisted write fence");
}

Result<std::optional<uint64_t>> StateStore::ReadCursor() const {
  Result<std::optional<std::string>> raw = Get(kLocalKeyCursor);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<uint64_t>();
  std::optional<uint64_t> v = DecodeFixed64(**raw);
  if (!v) return Status::Corruption("rocksdr local state 'cursor' is not 8 bytes");
  return std::optional<uint64_t>(*v);
}

}  // namespace rocksdr::plugin
