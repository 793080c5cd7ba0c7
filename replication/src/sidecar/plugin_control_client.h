// PluginControlClient: PluginControl over the plugin's control socket (see
// rocksdr/sidecar/plugin_control_client.h for the contract; this header exposes the class to
// the library's own code and tests).
//
// Who may include: replication/src and tests. Thread-safe (one mutex around each call).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/sidecar/plugin_control_client.h"

namespace rocksdr::sidecar {

class PluginControlClient : public PluginControl {
 public:
  PluginControlClient(std::string path, PluginControlClientOptions options);
  ~PluginControlClient() override;

  // Opens the connection now (hello included). kUnavailable if the plugin is not there.
  rocksdr::Status Connect();

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
  rocksdr::Status RequestBootstrap() override;
  Result<std::optional<std::string>> Get(Store store, const std::string& key) override;
  rocksdr::Status Put(Store store, const std::string& key, std::string_view value) override;
  rocksdr::Status Delete(Store store, const std::string& key) override;
  Result<std::vector<std::pair<std::string, std::string>>> Scan(Store store, const std::string& prefix,
                                                                 size_t limit) override;
  Result<nlohmann::json> Consistency(std::string_view op, const nlohmann::json& args) override;

  // One request/response (hello is sent first on a new connection). `idempotent`: may be
  // retried once on a fresh connection (see the header comment). Exposed for tests.
  Result<nlohmann::json> Call(std::string_view op, nlohmann::json args, std::chrono::milliseconds timeout,
                              bool idempotent);

 private:
  using Clock = std::chrono::steady_clock;
  // REQUIRES: mu_ held.
  rocksdr::Status ConnectLocked(Clock::time_point deadline);
  void CloseLocked();
  rocksdr::Status NotAnswering(const std::string& why) const;
  // One attempt on the current connection. *before_answer: failed before any answer byte;
  // *not_sent: the request could not be written (so it was not served).
  Result<nlohmann::json> Exchange(std::string_view op, const nlohmann::json& args, Clock::time_point deadline,
                                  bool* before_answer, bool* not_sent = nullptr);
  // False when the idle connection has something to read (EOF from a server that closed it).
  bool Usable() const;

  const std::string path_;
  const PluginControlClientOptions options_;
  std::mutex mu_;
  int fd_ = -1;          // GUARDED_BY(mu_)
  uint64_t next_id_ = 1; // GUARDED_BY(mu_)
};

}  // namespace rocksdr::sidecar
