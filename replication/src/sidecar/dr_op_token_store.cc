// Implementation of dr_op_token_store.h.
#include "rocksdr/sidecar/dr_op_token_store.h"

#include <nlohmann/json.hpp>

#include "rocksdr/crypto/aead.h"
#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/otp.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/token_hash.h"

namespace rocksdr::sidecar {

namespace {

constexpr std::string_view kAssociatedData = "rocksdr/dr-operation-token/v1";
constexpr size_t kMaxOpTokenSize = 256;
constexpr size_t kMaxStoredKeys = 255;

Status Invalid() { return Status::InvalidArgument(std::string(kInvalidOpTokenMessage)); }

// HMAC-SHA256(salt, token) as 32 raw bytes.
Result<crypto::SecureBytes> Mac(const crypto::SecureBytes& salt, std::string_view token) {
  std::string hex = crypto::HashToken(salt, token);
  if (hex.empty()) return Status::Internal("token hashing failed");
  return crypto::HexDecode(hex);
}

}  // namespace

Result<std::string> DrOperationTokens::EntryKey(std::string_view token, bool create_salt) {
  if (token.empty() || token.size() > kMaxOpTokenSize) return Invalid();
  Result<std::optional<std::string>> raw = control_->Get(Store::kLocal, std::string(kOpTokenSaltKey));
  if (!raw.ok()) return raw.status();
  crypto::SecureBytes salt;
  if (raw->has_value()) {
    Result<crypto::SecureBytes> s = crypto::Base64Decode(**raw);
    if (!s.ok() || s->size() != 32) return Status::Corruption("DR operation token salt is malformed");
    salt = std::move(s).value();
  } else {
    if (!create_salt) return Invalid();
    Result<crypto::SecureBytes> s = crypto::RandomSecureBytes(32);
    if (!s.ok()) return s.status();
    salt = std::move(s).value();
    ROCKSDR_RETURN_IF_ERROR(
        control_->Put(Store::kLocal, std::string(kOpTokenSaltKey), crypto::Base64Encode(crypto::AsStringView(salt))));
  }
  std::string hex = crypto::HashToken(salt, token);
  if (hex.empty()) return Status::Internal("token hashing failed");
  return std::string(kOpTokenKeyPrefix) + hex;
}

Result<crypto::SecureString> DrOperationTokens::Create(const std::vector<crypto::SecureBytes>& keys, int64_t now) {
  if (keys.empty() || keys.size() > kMaxStoredKeys) return Status::InvalidArgument("bad number of keys");
  Result<crypto::SecureString> token = crypto::GenerateToken("rdr.");
  if (!token.ok()) return token.status();
  const std::string_view tv(token->data(), token->size());
  Result<std::string> key = EntryKey(tv, /*create_salt=*/true);
  if (!key.ok()) return key.status();
  Result<crypto::SecureBytes> kdf_salt = crypto::RandomSecureBytes(32);
  if (!kdf_salt.ok()) return kdf_salt.status();
  Result<crypto::SecureBytes> aead_key = Mac(*kdf_salt, tv);
  if (!aead_key.ok()) return aead_key.status();
  // Plaintext: a JSON array of base64 keys, kept in a zeroizing string.
  crypto::SecureString plain = "[";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) plain += ",";
    std::string b64 = crypto::Base64Encode(crypto::AsStringView(keys[i]));
    plain += "\"";
    plain.append(b64.data(), b64.size());
    plain += "\"";
    crypto::Zeroize(b64.data(), b64.size());
  }
  plain += "]";
  Result<std::string> sealed = crypto::Seal(*aead_key, std::string_view(plain.data(), plain.size()), kAssociatedData);
  if (!sealed.ok()) return sealed.status();
  nlohmann::json entry = {{"v", 1},
                          {"created", now},
                          {"kdf_salt", crypto::Base64Encode(crypto::AsStringView(*kdf_salt))},
                          {"sealed_keys", crypto::Base64Encode(*sealed)}};
  ROCKSDR_RETURN_IF_ERROR(control_->Put(Store::kLocal, *key, entry.dump()));
  return token;
}

Result<std::vector<crypto::SecureBytes>> DrOperationTokens::Open(std::string_view token) {
  Result<std::string> key = EntryKey(token, /*create_salt=*/false);
  if (!key.ok()) return key.status();
  Result<std::optional<std::string>> raw = control_->Get(Store::kLocal, *key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return Invalid();
  nlohmann::json entry = nlohmann::json::parse(**raw, nullptr, false);
  if (!entry.is_object() || entry.value("v", 0) != 1 || !entry.contains("kdf_salt") || !entry["kdf_salt"].is_string() ||
      !entry.contains("sealed_keys") || !entry["sealed_keys"].is_string()) {
    return Status::Corruption("DR operation token entry is malformed");
  }
  Result<crypto::SecureBytes> kdf_salt = crypto::Base64Decode(entry["kdf_salt"].get<std::string>());
  Result<crypto::SecureBytes> sealed = crypto::Base64Decode(entry["sealed_keys"].get<std::string>(), true, 1 << 20);
  if (!kdf_salt.ok() || kdf_salt->size() != 32 || !sealed.ok()) {
    return Status::Corruption("DR operation token entry is malformed");
  }
  Result<crypto::SecureBytes> aead_key = Mac(*kdf_salt, token);
  if (!aead_key.ok()) return aead_key.status();
  Result<crypto::SecureBytes> plain = crypto::Open(*aead_key, crypto::AsStringView(*sealed), kAssociatedData);
  if (!plain.ok()) {
    // The entry was found by the token's HMAC, so a failure here means the entry was altered.
    return Status::Corruption("DR operation token entry does not open: " + plain.status().message());
  }
  nlohmann::json arr = nlohmann::json::parse(crypto::AsStringView(*plain), nullptr, false);
  if (!arr.is_array() || arr.empty() || arr.size() > kMaxStoredKeys) {
    return Status::Corruption("DR operation token entry holds no keys");
  }
  std::vector<crypto::SecureBytes> keys;
  for (auto& k : arr) {
    if (!k.is_string()) return Status::Corruption("DR operation token entry holds a malformed key");
    std::string& s = k.get_ref<std::string&>();
    Result<crypto::SecureBytes> b = crypto::Base64Decode(s);
    crypto::Zeroize(s.data(), s.size());
    if (!b.ok()) return Status::Corruption("DR operation token entry holds a malformed key");
    keys.push_back(std::move(b).value());
  }
  return keys;
}

Status DrOperationTokens::Revoke(std::string_view token) {
  Result<std::vector<crypto::SecureBytes>> keys = Open(token);
  if (!keys.ok() && keys.status().code() != Code::kCorruption) return keys.status();
  Result<std::string> key = EntryKey(token, /*create_salt=*/false);
  if (!key.ok()) return key.status();
  return control_->Delete(Store::kLocal, *key);
}

Status DrOperationTokens::RevokeAll() {
  Result<std::vector<std::pair<std::string, std::string>>> all =
      control_->Scan(Store::kLocal, std::string(kOpTokenKeyPrefix), 10000);
  if (!all.ok()) return all.status();
  for (const auto& [k, v] : *all) ROCKSDR_RETURN_IF_ERROR(control_->Delete(Store::kLocal, k));
  return Status::OK();
}

}  // namespace rocksdr::sidecar
