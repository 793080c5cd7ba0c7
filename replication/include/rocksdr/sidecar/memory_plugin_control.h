// MemoryPluginControl: an in-memory PluginControl for tests and for `rocksdr server -dev` when no
// plugin is attached. Both stores are ordered maps; role changes are recorded (role, epoch,
// cluster id, the last config/bundle passed) so tests can assert what the sidecar asked for, and
// Status() reports them in the shape of the plugin's status (see replication_status.h). It never
// replicates anything: a "primary" here has no listener, so ReplicationAddress() returns the
// address given to SetReplicationAddress() (default: kFailedPrecondition until one is set).
//
// As the real plugin does, it refuses replicated-store writes while the role is "secondary"
// (kFailedPrecondition) and bounds keys (1 KiB) and values (1 MiB).
//
// Who may call: anyone, from any thread (one mutex).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rocksdr/sidecar/plugin_control.h"

namespace rocksdr::sidecar {

class MemoryPluginControl : public PluginControl {
 public:
  MemoryPluginControl() = default;

  Result<nlohmann::json> Status() override;
  rocksdr::Status EnablePrimary(const PrimaryConfig& config) override;
  Result<std::string> ReplicationAddress() override;
  rocksdr::Status SetAllowedSecondaries(const std::vector<std::string>& ids) override;
  rocksdr::Status RevokeSecondary(const std::string& id) override;
  rocksdr::Status EnableSecondary(const ActivationBundle& bundle) override;
  rocksdr::Status UpdatePrimary(const std::optional<ActivationBundle>& bundle) override;
  rocksdr::Status Promote(const PrimaryConfig& config) override;
  rocksdr::Status Demote() override;
  rocksdr::Status Disable() override;
  // Counts the request (bootstraps_requested()); the data stays as it is.
  rocksdr::Status RequestBootstrap() override;

  Result<std::optional<std::string>> Get(Store store, const std::string& key) override;
  rocksdr::Status Put(Store store, const std::string& key, std::string_view value) override;
  rocksdr::Status Delete(Store store, const std::string& key) override;
  Result<std::vector<std::pair<std::string, std::string>>> Scan(Store store, const std::string& prefix,
                                                                size_t limit) override;

  // Test hooks.
  void SetReplicationAddress(std::string addr);
  std::string role() const;
  uint64_t epoch() const;
  std::vector<std::string> allowed_secondaries() const;
  std::vector<std::string> revoked_secondaries() const;
  uint64_t bootstraps_requested() const;
  // Every key and value of a store (for "no secret in clear" scans).
  std::map<std::string, std::string> Dump(Store store) const;
  // Copies the replicated store from `other` (what DR replication would deliver).
  void CopyReplicatedFrom(const MemoryPluginControl& other);

 private:
  std::map<std::string, std::string>& Map(Store store) { return store == Store::kReplicated ? replicated_ : local_; }

  mutable std::mutex mu_;
  std::map<std::string, std::string> replicated_;
  std::map<std::string, std::string> local_;
  std::string role_ = "disabled";
  std::string cluster_id_;
  uint64_t epoch_ = 0;
  std::string replication_address_;
  std::vector<std::string> allowed_;
  std::vector<std::string> revoked_;
  std::string primary_api_addr_;
  uint64_t bootstraps_requested_ = 0;
};

}  // namespace rocksdr::sidecar
