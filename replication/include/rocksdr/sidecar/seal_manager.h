// SealManager: initialization, unseal (Shamir quorum), seal, and the in-memory keyring while
// unsealed (DESIGN.md "Seal").
//
// At rest (REPLICATED store, so a DR secondary holds the primary's):
//   "sidecar/seal/config"   JSON {"v":1,"type":"shamir","secret_shares","secret_threshold",
//                                  "cluster_name","cluster_id","created"}  — present = initialized
//   "sidecar/seal/keyring"  base64 of SealKeyring(root key, keyring)        (keyring.h)
// The 32-byte root key is never stored: it is Shamir-split into the unseal keys at init
// (threshold 1 with one share: the unseal key is the root key itself, as in Vault). An unseal
// key set is verified by opening the sealed keyring: an AES-GCM authentication failure means the
// keys are wrong, and the attempt's progress is reset.
//
// While unsealed, the root key and the opened keyring live only in this object's memory
// (zeroizing containers); Seal() drops both. Nothing here logs or returns key material except
// Initialize (the unseal keys, once, for the caller to hand to the operator).
//
// Who may call: the sidecar's handlers, from any thread (one mutex guards everything).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/crypto/keyring.h"
#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kSealConfigKey = "sidecar/seal/config";
inline constexpr std::string_view kSealKeyringKey = "sidecar/seal/keyring";

struct SealConfig {
  int secret_shares = 0;
  int secret_threshold = 0;
  std::string cluster_name;
  std::string cluster_id;
  int64_t created = 0;

  nlohmann::json ToJson() const;
  static Result<SealConfig> FromJson(const nlohmann::json& j);
};

struct SealState {
  bool initialized = false;
  bool sealed = true;
  int threshold = 0;  // "t"
  int shares = 0;     // "n"
  int progress = 0;
  std::string nonce;  // of the current unseal attempt, "" if none
  std::string cluster_name;
  std::string cluster_id;
};

// Vault's seal-configuration validation (vault/seal_config.go), with its messages.
Status ValidateSealParameters(int64_t shares, int64_t threshold);

class SealManager {
 public:
  // `control` must outlive this object.
  explicit SealManager(PluginControl* control) : control_(control) {}

  // Creates the root key and a fresh keyring (token HMAC key, JWT signing key), runs
  // `before_persist(keyring)` (the caller creates the root token there), then stores the sealed
  // keyring and the seal config. Returns the unseal keys. Stays sealed.
  // Errors: kInvalidArgument (Vault's validation), kAlreadyExists ("rocksdr is already
  // initialized"), and whatever the store or the hook return.
  Result<std::vector<crypto::SecureBytes>> Initialize(int64_t shares, int64_t threshold,
                                                      const std::function<Status(const crypto::Keyring&)>& before_persist);

  // Current state; reads the seal config from the store.
  Result<SealState> State();
  Result<bool> Initialized();

  // Adds one unseal key (raw bytes: a share, or the root key for 1-of-1). A key already given in
  // this attempt is ignored (as Vault does). At the threshold: combine, open the keyring; on
  // failure the attempt is reset and kInvalidArgument says the keys do not match this cluster.
  // When already unsealed, returns the state unchanged.
  Result<SealState> SubmitUnsealKey(const crypto::SecureBytes& key);
  // Discards the keys given so far.
  void ResetUnseal();
  // Drops the root key and the keyring from memory. Idempotent.
  void Seal();
  bool sealed() const;

  // Runs f on the open keyring. Errors: kUnavailable ("rocksdr is sealed") when sealed.
  Status WithKeyring(const std::function<Status(const crypto::Keyring&)>& f) const;
  // Copies one key out of the open keyring. Errors: kUnavailable when sealed, kNotFound.
  Result<crypto::SecureBytes> KeyringValue(std::string_view name) const;
  // Modifies the keyring, re-seals it under the root key and stores it; on any error the
  // in-memory keyring is left unchanged. Errors: kUnavailable when sealed, f's error, store errors.
  Status UpdateKeyring(const std::function<Status(crypto::Keyring&)>& f);

  // Combines `shares` (a single key = the root key itself) and checks that the result opens the
  // STORED keyring; works sealed or unsealed (the DR operation-token quorum uses it).
  // Errors: kInvalidArgument (bad share set, or the keys do not open this cluster's keyring).
  Result<crypto::SecureBytes> VerifyShares(const std::vector<crypto::SecureBytes>& shares);

  // The seal configuration, if initialized.
  Result<std::optional<SealConfig>> Config();

 private:
  Result<std::optional<SealConfig>> LoadConfigLocked();
  Result<std::string> LoadSealedKeyringLocked();
  Result<crypto::SecureBytes> CombineLocked(const std::vector<crypto::SecureBytes>& parts, int threshold);

  PluginControl* control_;
  mutable std::mutex mu_;
  bool unsealed_ = false;                // guarded by mu_
  crypto::SecureBytes root_key_;         // guarded by mu_; empty when sealed
  crypto::Keyring keyring_;              // guarded by mu_; empty when sealed
  std::vector<crypto::SecureBytes> parts_;  // keys of the current unseal attempt
  std::string nonce_;
};

}  // namespace rocksdr::sidecar
