// TokenStore: tokens kept in the REPLICATED store, only as HMAC-SHA256 digests (token_hash.h):
//   "sidecar/token/<64 hex HMAC>" -> TokenEntry JSON (token_entry.h)
// so a copy of the store — every DR secondary has one — reveals no usable token, yet after a
// promotion the same tokens resolve (the HMAC key is in the replicated, sealed keyring).
//
// Every call takes the token HMAC key (from the open keyring, see Core): the store itself holds
// no secret. Expired entries are deleted when they are looked up. Limited-use tokens (num_uses > 0)
// lose one use per Use(); the last use deletes the entry, so a single-use token works once.
//
// Who may call: Core and handlers, from any thread (a mutex serializes read-modify-write).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/sidecar/token_entry.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kTokenKeyPrefix = "sidecar/token/";
// Longest token accepted from a client (Vault's are < 100 characters).
inline constexpr size_t kMaxClientTokenSize = 256;

struct CreatedToken {
  crypto::SecureString token;  // secret: hand to the caller once, never log
  TokenEntry entry;
};

class TokenStore {
 public:
  explicit TokenStore(PluginControl* control) : control_(control) {}

  // Creates a token with a fresh accessor and creation_time = now; `proto` supplies policies,
  // display_name, ttl_seconds, num_uses, purpose. prefix: 4 characters ("rdr.").
  Result<CreatedToken> Create(const crypto::SecureBytes& hmac_key, TokenEntry proto, int64_t now,
                              std::string_view prefix = "rdr.");
  // The entry of a live token. Errors: kNotFound (unknown, or expired — then also deleted),
  // kInvalidArgument (empty or oversized token).
  Result<TokenEntry> Lookup(const crypto::SecureBytes& hmac_key, std::string_view token, int64_t now);
  // Lookup + consume one use of a limited-use token (deleting it after its last use).
  Result<TokenEntry> Use(const crypto::SecureBytes& hmac_key, std::string_view token, int64_t now);
  // Deletes the token. kNotFound if it does not exist.
  Status Revoke(const crypto::SecureBytes& hmac_key, std::string_view token);

 private:
  Result<std::string> KeyFor(const crypto::SecureBytes& hmac_key, std::string_view token) const;
  Result<TokenEntry> LookupLocked(const std::string& key, int64_t now);

  PluginControl* control_;
  std::mutex mu_;
};

}  // namespace rocksdr::sidecar
