// Test harness for the DR endpoints: a sidecar node (Core + Router with the core and DR routes +
// HttpServer on 127.0.0.1:0, injected clock), initialized and unsealed, over FakeReplicatedControl.
//
// FakeReplicatedControl is a FAKE OF THE DATA PLANE: a MemoryPluginControl that, when enabled as a
// secondary, copies its primary's replicated store into its own (what the bootstrap would
// deliver); Sync() copies it again (what the WAL stream would deliver); SetConnected makes its
// status report a live connection to the primary. Everything above PluginControl is real.
//
// Who may call: tests, from the test thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/core.h"
#include "rocksdr/sidecar/dr_handlers.h"
#include "rocksdr/sidecar/http_server.h"
#include "rocksdr/sidecar/memory_plugin_control.h"
#include "rocksdr/sidecar/router.h"

namespace rocksdr::sidecar::testing {

class FakeReplicatedControl : public MemoryPluginControl {
 public:
  void Follow(MemoryPluginControl* primary);
  void Sync();
  void SetConnected(bool v) { connected_.store(v); }
  // The next Promote fails with `st` and changes nothing (what the plugin does when, say, the
  // listen address is taken: "promotion refused, nothing changed"), or with `after_promoting`
  // promotes and then fails (a storage failure after the plugin's epoch marker).
  void FailNextPromote(rocksdr::Status st, bool after_promoting = false);
  // The next UpdatePrimary fails with `st` and changes nothing.
  void FailNextUpdatePrimary(rocksdr::Status st);
  // The next Put of `key` (either store) fails with `st` and writes nothing (a storage failure).
  void FailNextPut(const std::string& key, rocksdr::Status st);
  // The sidecar's kept bundle (local "sidecar/dr/bundle") when the last EnableSecondary /
  // UpdatePrimary was called: it must already be there, should the sidecar die right after.
  std::optional<std::string> kept_bundle_at_last_switch();
  std::optional<ActivationBundle> last_bundle();
  // The config passed to the last EnablePrimary / Promote.
  std::optional<PrimaryConfig> last_primary_config();

  rocksdr::Status EnableSecondary(const ActivationBundle& bundle) override;
  rocksdr::Status UpdatePrimary(const std::optional<ActivationBundle>& bundle) override;
  rocksdr::Status EnablePrimary(const PrimaryConfig& config) override;
  rocksdr::Status Promote(const PrimaryConfig& config) override;
  rocksdr::Status Put(Store store, const std::string& key, std::string_view value) override;
  Result<nlohmann::json> Status() override;

 private:
  std::mutex mu2_;
  MemoryPluginControl* primary_ = nullptr;
  std::optional<ActivationBundle> last_bundle_;
  std::optional<PrimaryConfig> last_primary_config_;
  std::optional<rocksdr::Status> fail_next_promote_;
  std::optional<rocksdr::Status> fail_next_update_;
  std::optional<std::pair<std::string, rocksdr::Status>> fail_next_put_;
  std::optional<std::string> kept_bundle_at_switch_;
  void RecordKeptBundle();
  bool fail_after_promoting_ = false;
  std::atomic<bool> connected_{false};
};

struct DrReply {
  int status = 0;
  nlohmann::json body;
};

struct DrNode {
  FakeReplicatedControl control;
  DrOptions dr_options;  // used by Start
  std::atomic<int64_t> now{1'800'000'000};
  std::unique_ptr<Core> core;
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> server;
  std::string addr;
  std::vector<std::string> keys_hex;
  std::vector<std::string> keys_b64;
  std::string root_token;

  std::string ca_file;  // for Call() when the server speaks TLS

  // Starts the server and initializes (shares/threshold) and unseals the node. With
  // tls_cert_file/tls_key_file the server speaks HTTPS (addr "https://localhost:PORT") and
  // Call() trusts `ca_file`. Uses gtest assertions; check HasFatalFailure() after it.
  void Start(int shares, int threshold, const std::string& tls_cert_file = "", const std::string& tls_key_file = "");
  // One HTTP call to /v1/<path>; a transport failure is a test failure (status 0).
  DrReply Call(const std::string& method, const std::string& path, const nlohmann::json& body = nlohmann::json::object(),
               const std::string& token = "");
};

}  // namespace rocksdr::sidecar::testing
