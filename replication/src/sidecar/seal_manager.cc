// Implementation of seal_manager.h.
#include "rocksdr/sidecar/seal_manager.h"

#include <chrono>

#include "rocksdr/crypto/ec_key.h"
#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/shamir.h"

namespace rocksdr::sidecar {

namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Sealed() { return Status::Unavailable("rocksdr is sealed"); }

}  // namespace

nlohmann::json SealConfig::ToJson() const {
  return {{"v", 1},
          {"type", "shamir"},
          {"secret_shares", secret_shares},
          {"secret_threshold", secret_threshold},
          {"cluster_name", cluster_name},
          {"cluster_id", cluster_id},
          {"created", created}};
}

Result<SealConfig> SealConfig::FromJson(const nlohmann::json& j) {
  try {
    if (!j.is_object() || j.value("v", 0) != 1 || j.value("type", "") != "shamir") {
      return Status::Corruption("seal config: unknown format");
    }
    SealConfig c;
    c.secret_shares = j.at("secret_shares").get<int>();
    c.secret_threshold = j.at("secret_threshold").get<int>();
    c.cluster_name = j.at("cluster_name").get<std::string>();
    c.cluster_id = j.at("cluster_id").get<std::string>();
    c.created = j.at("created").get<int64_t>();
    Status v = ValidateSealParameters(c.secret_shares, c.secret_threshold);
    if (!v.ok()) return Status::Corruption("seal config: " + v.message());
    return c;
  } catch (const nlohmann::json::exception&) {
    return Status::Corruption("seal config: malformed (missing or mistyped field)");
  }
}

Status ValidateSealParameters(int64_t shares, int64_t threshold) {
  auto bad = [](const char* m) { return Status::InvalidArgument(std::string("invalid seal configuration: ") + m); };
  if (shares < 1) return bad("shares must be at least one");
  if (threshold < 1) return bad("threshold must be at least one");
  if (shares > 1 && threshold == 1) return bad("threshold must be greater than one for multiple shares");
  if (shares > 255) return bad("shares must be less than 256");
  if (threshold > 255) return bad("threshold must be less than 256");
  if (threshold > shares) return bad("threshold cannot be larger than shares");
  return Status::OK();
}

Result<std::optional<SealConfig>> SealManager::LoadConfigLocked() {
  Result<std::optional<std::string>> raw = control_->Get(Store::kReplicated, std::string(kSealConfigKey));
  if (!raw.ok()) return raw.status().WithContext("reading the seal configuration");
  if (!raw->has_value()) return std::optional<SealConfig>();
  nlohmann::json j = nlohmann::json::parse(**raw, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("seal config: not JSON");
  Result<SealConfig> c = SealConfig::FromJson(j);
  if (!c.ok()) return c.status();
  return std::optional<SealConfig>(std::move(c).value());
}

Result<std::string> SealManager::LoadSealedKeyringLocked() {
  Result<std::optional<std::string>> raw = control_->Get(Store::kReplicated, std::string(kSealKeyringKey));
  if (!raw.ok()) return raw.status().WithContext("reading the sealed keyring");
  if (!raw->has_value()) return Status::Corruption("initialized, but the sealed keyring is missing from the store");
  Result<crypto::SecureBytes> blob = crypto::Base64Decode(**raw, true, 32 << 20);
  if (!blob.ok()) return Status::Corruption("sealed keyring: " + blob.status().message());
  return std::string(crypto::AsStringView(*blob));
}

Result<std::optional<SealConfig>> SealManager::Config() {
  std::lock_guard<std::mutex> lock(mu_);
  return LoadConfigLocked();
}

Result<bool> SealManager::Initialized() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<SealConfig>> c = LoadConfigLocked();
  if (!c.ok()) return c.status();
  return c->has_value();
}

Result<std::vector<crypto::SecureBytes>> SealManager::Initialize(
    int64_t shares, int64_t threshold, const std::function<Status(const crypto::Keyring&)>& before_persist) {
  ROCKSDR_RETURN_IF_ERROR(ValidateSealParameters(shares, threshold));
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<SealConfig>> existing = LoadConfigLocked();
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) return Status::AlreadyExists("rocksdr is already initialized");

  Result<crypto::SecureBytes> root = crypto::GenerateRootKey();
  if (!root.ok()) return root.status();
  crypto::Keyring keyring;
  Result<crypto::SecureBytes> hmac = crypto::RandomSecureBytes(32);
  if (!hmac.ok()) return hmac.status();
  ROCKSDR_RETURN_IF_ERROR(keyring.Put(crypto::kTokenHmacKeyName, std::move(hmac).value()));
  Result<crypto::EcPrivateKey> jwt = crypto::EcPrivateKey::Generate();
  if (!jwt.ok()) return jwt.status();
  Result<crypto::SecureString> jwt_pem = jwt->ToPem();
  if (!jwt_pem.ok()) return jwt_pem.status();
  ROCKSDR_RETURN_IF_ERROR(keyring.Put(crypto::kJwtSigningKeyName, crypto::SecureBytes(jwt_pem->begin(), jwt_pem->end())));

  std::vector<crypto::SecureBytes> keys;
  if (shares == 1) {
    keys.push_back(*root);
  } else {
    Result<std::vector<crypto::SecureBytes>> split =
        crypto::shamir::Split(crypto::AsStringView(*root), static_cast<int>(shares), static_cast<int>(threshold));
    if (!split.ok()) return split.status();
    keys = std::move(split).value();
  }
  Result<std::string> sealed = crypto::SealKeyring(*root, keyring);
  if (!sealed.ok()) return sealed.status();

  SealConfig config;
  config.secret_shares = static_cast<int>(shares);
  config.secret_threshold = static_cast<int>(threshold);
  Result<std::string> id = crypto::RandomUuid();
  if (!id.ok()) return id.status();
  config.cluster_id = *id;
  config.cluster_name = "rocksdr-cluster-" + id->substr(0, 8);
  config.created = NowSeconds();

  ROCKSDR_RETURN_IF_ERROR(before_persist(keyring));
  ROCKSDR_RETURN_IF_ERROR(control_->Put(Store::kReplicated, std::string(kSealKeyringKey), crypto::Base64Encode(*sealed)));
  ROCKSDR_RETURN_IF_ERROR(control_->Put(Store::kReplicated, std::string(kSealConfigKey), config.ToJson().dump()));
  return keys;
}

Result<SealState> SealManager::State() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<SealConfig>> c = LoadConfigLocked();
  if (!c.ok()) return c.status();
  SealState s;
  s.sealed = !unsealed_;
  if (!c->has_value()) return s;
  s.initialized = true;
  s.threshold = (*c)->secret_threshold;
  s.shares = (*c)->secret_shares;
  s.progress = static_cast<int>(parts_.size());
  s.nonce = nonce_;
  s.cluster_name = (*c)->cluster_name;
  s.cluster_id = (*c)->cluster_id;
  return s;
}

Result<crypto::SecureBytes> SealManager::CombineLocked(const std::vector<crypto::SecureBytes>& parts, int threshold) {
  const size_t want = threshold == 1 ? crypto::kRootKeySize : crypto::kRootKeySize + crypto::shamir::kShareOverhead;
  for (const auto& p : parts) {
    if (p.size() != want) {
      return Status::InvalidArgument("unseal key has the wrong length (" + std::to_string(p.size()) +
                                     " bytes; this cluster's unseal keys are " + std::to_string(want) + " bytes)");
    }
  }
  if (threshold == 1) {
    if (parts.size() != 1) return Status::InvalidArgument("exactly one unseal key is needed");
    return parts[0];
  }
  if (parts.size() < static_cast<size_t>(threshold)) return Status::InvalidArgument("not enough unseal keys");
  Result<crypto::SecureBytes> root = crypto::shamir::Combine(parts);
  if (!root.ok()) return Status::InvalidArgument("failed to combine the unseal keys: " + root.status().message());
  return root;
}

Result<SealState> SealManager::SubmitUnsealKey(const crypto::SecureBytes& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Result<std::optional<SealConfig>> c = LoadConfigLocked();
    if (!c.ok()) return c.status();
    if (!c->has_value()) return Status::InvalidArgument("rocksdr is not initialized");
    if (!unsealed_) {
      const int threshold = (*c)->secret_threshold;
      const size_t want = threshold == 1 ? crypto::kRootKeySize : crypto::kRootKeySize + crypto::shamir::kShareOverhead;
      if (key.size() != want) {
        return Status::InvalidArgument("unseal key has the wrong length (" + std::to_string(key.size()) +
                                       " bytes; this cluster's unseal keys are " + std::to_string(want) + " bytes)");
      }
      bool duplicate = false;
      for (const auto& p : parts_) {
        duplicate = duplicate || crypto::ConstantTimeEquals(crypto::AsStringView(p), crypto::AsStringView(key));
      }
      if (!duplicate) {
        if (parts_.empty()) {
          Result<std::string> n = crypto::RandomUuid();
          if (!n.ok()) return n.status();
          nonce_ = *n;
        }
        parts_.push_back(key);
      }
      if (parts_.size() >= static_cast<size_t>(threshold)) {
        std::vector<crypto::SecureBytes> parts = std::move(parts_);
        parts_.clear();
        nonce_.clear();
        Result<crypto::SecureBytes> root = CombineLocked(parts, threshold);
        if (!root.ok()) return root.status();
        Result<std::string> sealed = LoadSealedKeyringLocked();
        if (!sealed.ok()) return sealed.status();
        Result<crypto::Keyring> kr = crypto::OpenKeyring(*root, *sealed);
        if (!kr.ok()) {
          if (kr.status().code() == Code::kUnauthenticated) {
            return Status::InvalidArgument(
                "unseal failed: the unseal keys do not reconstruct this cluster's root key (a wrong key, or keys "
                "of another cluster); progress was reset, submit the correct keys again");
          }
          return kr.status().WithContext("unseal failed");
        }
        root_key_ = std::move(root).value();
        keyring_ = std::move(kr).value();
        unsealed_ = true;
      }
    }
  }
  return State();
}

void SealManager::ResetUnseal() {
  std::lock_guard<std::mutex> lock(mu_);
  parts_.clear();
  nonce_.clear();
}

void SealManager::Seal() {
  std::lock_guard<std::mutex> lock(mu_);
  unsealed_ = false;
  crypto::Zeroize(root_key_.data(), root_key_.size());
  root_key_.clear();
  keyring_ = crypto::Keyring();
  parts_.clear();
  nonce_.clear();
}

bool SealManager::sealed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !unsealed_;
}

Status SealManager::WithKeyring(const std::function<Status(const crypto::Keyring&)>& f) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unsealed_) return Sealed();
  return f(keyring_);
}

Result<crypto::SecureBytes> SealManager::KeyringValue(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unsealed_) return Sealed();
  const crypto::SecureBytes* v = keyring_.Get(name);
  if (v == nullptr) return Status::NotFound("keyring has no key named " + std::string(name));
  return *v;
}

Status SealManager::UpdateKeyring(const std::function<Status(crypto::Keyring&)>& f) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!unsealed_) return Sealed();
  crypto::Keyring copy = keyring_.Clone();
  ROCKSDR_RETURN_IF_ERROR(f(copy));
  Result<std::string> sealed = crypto::SealKeyring(root_key_, copy);
  if (!sealed.ok()) return sealed.status();
  ROCKSDR_RETURN_IF_ERROR(control_->Put(Store::kReplicated, std::string(kSealKeyringKey), crypto::Base64Encode(*sealed)));
  keyring_ = std::move(copy);
  return Status::OK();
}

Result<crypto::SecureBytes> SealManager::VerifyShares(const std::vector<crypto::SecureBytes>& shares) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<SealConfig>> c = LoadConfigLocked();
  if (!c.ok()) return c.status();
  if (!c->has_value()) return Status::FailedPrecondition("rocksdr is not initialized");
  Result<crypto::SecureBytes> root = CombineLocked(shares, (*c)->secret_threshold);
  if (!root.ok()) return root.status();
  Result<std::string> sealed = LoadSealedKeyringLocked();
  if (!sealed.ok()) return sealed.status();
  Result<crypto::Keyring> kr = crypto::OpenKeyring(*root, *sealed);
  if (!kr.ok()) {
    if (kr.status().code() == Code::kUnauthenticated) {
      return Status::InvalidArgument("the keys do not reconstruct this cluster's root key");
    }
    return kr.status();
  }
  return root;
}

}  // namespace rocksdr::sidecar
