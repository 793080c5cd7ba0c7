// Implementation of token_store.h.
#include "rocksdr/sidecar/token_store.h"

#include "rocksdr/crypto/otp.h"
#include "rocksdr/crypto/random.h"
#include "rocksdr/crypto/token_hash.h"

namespace rocksdr::sidecar {

Result<std::string> TokenStore::KeyFor(const crypto::SecureBytes& hmac_key, std::string_view token) const {
  if (token.empty() || token.size() > kMaxClientTokenSize) return Status::InvalidArgument("invalid token");
  std::string hash = crypto::HashToken(hmac_key, token);
  if (hash.empty()) return Status::Internal("cannot hash the token (token HMAC key unusable)");
  return std::string(kTokenKeyPrefix) + hash;
}

Result<CreatedToken> TokenStore::Create(const crypto::SecureBytes& hmac_key, TokenEntry proto, int64_t now,
                                        std::string_view prefix) {
  if (proto.policies.empty()) return Status::InvalidArgument("a token needs at least one policy");
  if (proto.ttl_seconds < 0 || proto.num_uses < 0) return Status::InvalidArgument("ttl and num_uses must be >= 0");
  Result<crypto::SecureString> token = crypto::GenerateToken(prefix);
  if (!token.ok()) return token.status();
  Result<std::string> accessor = crypto::RandomUuid();
  if (!accessor.ok()) return accessor.status();
  proto.accessor = *accessor;
  proto.creation_time = now;
  proto.expire_time = proto.ttl_seconds > 0 ? now + proto.ttl_seconds : 0;
  Result<std::string> key = KeyFor(hmac_key, *token);
  if (!key.ok()) return key.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ROCKSDR_RETURN_IF_ERROR(control_->Put(Store::kReplicated, *key, proto.ToJson().dump()));
  }
  return CreatedToken{std::move(token).value(), std::move(proto)};
}

Result<TokenEntry> TokenStore::LookupLocked(const std::string& key, int64_t now) {
  Result<std::optional<std::string>> raw = control_->Get(Store::kReplicated, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return Status::NotFound("unknown token");
  nlohmann::json j = nlohmann::json::parse(**raw, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("token entry: not JSON");
  Result<TokenEntry> e = TokenEntry::FromJson(j);
  if (!e.ok()) return e.status();
  if (e->expire_time > 0 && now >= e->expire_time) {
    (void)control_->Delete(Store::kReplicated, key);  // best effort; a DR secondary refuses it
    return Status::NotFound("token expired");
  }
  return e;
}

Result<TokenEntry> TokenStore::Lookup(const crypto::SecureBytes& hmac_key, std::string_view token, int64_t now) {
  Result<std::string> key = KeyFor(hmac_key, token);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(mu_);
  return LookupLocked(*key, now);
}

Result<TokenEntry> TokenStore::Use(const crypto::SecureBytes& hmac_key, std::string_view token, int64_t now) {
  Result<std::string> key = KeyFor(hmac_key, token);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(mu_);
  Result<TokenEntry> e = LookupLocked(*key, now);
  if (!e.ok() || e->num_uses == 0) return e;
  if (e->num_uses == 1) {
    ROCKSDR_RETURN_IF_ERROR(control_->Delete(Store::kReplicated, *key));
    e->num_uses = 0;
    return e;
  }
  TokenEntry updated = *e;
  updated.num_uses -= 1;
  ROCKSDR_RETURN_IF_ERROR(control_->Put(Store::kReplicated, *key, updated.ToJson().dump()));
  return updated;
}

Status TokenStore::Revoke(const crypto::SecureBytes& hmac_key, std::string_view token) {
  Result<std::string> key = KeyFor(hmac_key, token);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(mu_);
  Result<std::optional<std::string>> raw = control_->Get(Store::kReplicated, *key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return Status::NotFound("unknown token");
  return control_->Delete(Store::kReplicated, *key);
}

}  // namespace rocksdr::sidecar
