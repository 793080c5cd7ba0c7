// TokenEntry: what the token store keeps about one token (never the token itself: the store's key
// is HMAC-SHA256(token HMAC key, token); see token_store.h). Serialized as JSON in the replicated
// store, so a DR secondary holds the same entries and, after promotion, the same tokens work.
//
// Who may call: anyone. Value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/status.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kRootPolicy = "root";

struct TokenEntry {
  std::string accessor;              // public handle (UUID); safe to log
  std::vector<std::string> policies; // "root" grants everything
  std::string display_name;          // e.g. "root", "token", "dr-operation"
  std::string type = "service";      // Vault's token type
  int64_t creation_time = 0;         // seconds since the Unix epoch
  int64_t ttl_seconds = 0;           // 0 = no expiry (root tokens, operation tokens)
  int64_t expire_time = 0;           // creation_time + ttl, or 0
  int64_t num_uses = 0;              // remaining uses; 0 = unlimited
  std::string purpose;               // free-form tag, e.g. "dr-operation" (checked by callers)

  bool IsRoot() const;
  nlohmann::json ToJson() const;
  static Result<TokenEntry> FromJson(const nlohmann::json& j);
};

}  // namespace rocksdr::sidecar
