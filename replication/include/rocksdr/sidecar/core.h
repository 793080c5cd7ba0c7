// Core: one node's control-plane state, shared by every handler — the plugin control, the seal
// manager, the token store, the metrics, the node's advertised API address and clock. It is the
// Router's RequestGate (sealed? DR secondary? whose token?).
//
// Handlers added later (e.g. the DR replication endpoints) get a Core& and use:
//   core.seal()         keyring access (UpdateKeyring to add the replication CA), VerifyShares
//   core.CreateToken()  e.g. a single-use DR operation token (num_uses = 1, purpose set)
//   core.UseToken()     consume it (promote)
//   core.SetDrSecondary(true/false) after a role change, so ordinary paths are refused/allowed.
//
// Who may call: any server thread. Thread-safe (the parts are; the flag is atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/sidecar/expiry_clock.h"
#include "rocksdr/sidecar/metrics.h"
#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/sidecar/router.h"
#include "rocksdr/sidecar/seal_manager.h"
#include "rocksdr/sidecar/token_store.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kSidecarVersion = "0.1.0";

struct CoreOptions {
  // Advertised API address of this node ("https://host:8200"); goes into activation tokens.
  std::string api_addr;
  // Seconds since the Unix epoch. Default: the system clock.
  std::function<int64_t()> clock;
};

struct InitOutput {
  std::vector<crypto::SecureBytes> keys;  // unseal keys (raw bytes)
  crypto::SecureString root_token;
};

class Core : public RequestGate {
 public:
  // `control` must outlive the core.
  Core(PluginControl* control, CoreOptions options);
  // Stops the background work (StopBackground) first.
  ~Core() override;

  PluginControl* control() { return control_; }
  SealManager& seal() { return seal_; }
  TokenStore& tokens() { return tokens_; }
  Metrics& metrics() { return metrics_; }
  int64_t Now() const;
  // The time expiries are checked against: max(Now(), the highest time this node has seen),
  // persisted (expiry_clock.h). Token-store tokens and activation-token expiry use it.
  int64_t ExpiryNow(bool force_persist = false) { return expiry_.Now(force_persist); }
  ExpiryClock& expiry_clock() { return expiry_; }
  // The advertised API address (CoreOptions::api_addr, or as updated once the port is known).
  std::string api_addr() const;
  void SetApiAddr(std::string addr);

  // RequestGate.
  bool Sealed() override { return seal_.sealed(); }
  bool IsDrSecondary() override { return dr_secondary_.load(); }
  Result<TokenEntry> Authenticate(std::string_view token) override;
  void OnResponse(const ApiRequest& req, int status) override;

  // sys/init: seal config + keyring + root token (stored hashed). Stays sealed.
  Result<InitOutput> Initialize(int64_t shares, int64_t threshold);

  // Token operations; all need the node unsealed (kUnavailable "rocksdr is sealed" otherwise).
  Result<CreatedToken> CreateToken(TokenEntry proto);
  Result<TokenEntry> LookupToken(std::string_view token);
  Result<TokenEntry> UseToken(std::string_view token);
  Status RevokeToken(std::string_view token);

  // Role bookkeeping for the router's DR-secondary check.
  void SetDrSecondary(bool v) { dr_secondary_.store(v); }
  // Reads the plugin's role once (start-up) and sets the flag. Errors: the plugin's.
  Status RefreshRole();

  // sys/metrics body.
  std::string MetricsText();

  // Background work tied to this core (the DR re-arm loop, dr_handlers.h): `stop` must end the
  // work and return once it has ended; it is called once, by StopBackground() (Sidecar::Stop) or
  // by the destructor, in reverse order of registration.
  void AddBackgroundStop(std::function<void()> stop);
  void StopBackground();

  // Why this sidecar cannot drive replication right now (e.g. "replication paused until unsealed:
  // ..."), shown by the replication status routes as paused/paused_reason; "" = nothing to report.
  void SetReplicationNotice(std::string notice);
  std::string ReplicationNotice() const;

 private:
  PluginControl* control_;
  CoreOptions options_;
  mutable std::mutex api_addr_mu_;
  SealManager seal_;
  TokenStore tokens_;
  ExpiryClock expiry_;
  Metrics metrics_;
  std::atomic<bool> dr_secondary_{false};
  mutable std::mutex background_mu_;
  std::vector<std::function<void()>> background_stops_;  // GUARDED_BY(background_mu_)
  std::string replication_notice_;                       // GUARDED_BY(background_mu_)
};

}  // namespace rocksdr::sidecar
