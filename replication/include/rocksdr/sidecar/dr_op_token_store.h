// DrOperationTokens: the DR operation tokens of this node, kept in the LOCAL store.
//
// Why not the token store: a DR secondary's replicated store is written only by the replication
// stream, so the token made by generate-operation-token cannot go there. It is node-local in
// Vault too (it exists only on the secondary that generated it).
//
// What is stored, per token (LOCAL store):
//   "sidecar/dr/optoken-salt"        base64 of 32 random bytes (per node, created on first use)
//   "sidecar/dr/optoken/<id>"        id = HMAC-SHA256(salt, token) (token_hash.h), value JSON
//                                    {"v":1,"created","kdf_salt","sealed_keys"}
// `sealed_keys` is the AES-256-GCM blob (aead.h) of the primary's unseal keys that generated the
// token (the quorum that was verified against the primary's sealed keyring), under the key
// HMAC-SHA256(kdf_salt, token). So the store holds no usable token (only a keyed hash of a
// 143-bit random token) and the keys open only with the token itself: promotion needs them to
// unseal this node with the primary's keyring (see dr_handlers.h, "Seal and keys").
//
// Who may call: the DR handlers, from any thread (calls go to the thread-safe PluginControl;
// a create/consume race is serialized by the caller's mutex).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

inline constexpr std::string_view kOpTokenSaltKey = "sidecar/dr/optoken-salt";
inline constexpr std::string_view kOpTokenKeyPrefix = "sidecar/dr/optoken/";
// The message for an unknown, used or revoked operation token (never says which: no oracle).
inline constexpr std::string_view kInvalidOpTokenMessage =
    "invalid DR operation token (unknown, already used, or revoked); generate a new one with "
    "sys/replication/dr/secondary/generate-operation-token";

class DrOperationTokens {
 public:
  explicit DrOperationTokens(PluginControl* control) : control_(control) {}

  // A fresh token ("rdr." + 24 base62), stored with `keys` sealed under it.
  Result<crypto::SecureString> Create(const std::vector<crypto::SecureBytes>& keys, int64_t now);

  // The keys stored with a live token. Errors: kInvalidArgument kInvalidOpTokenMessage (empty,
  // oversized, unknown), kCorruption (entry unreadable), store errors.
  Result<std::vector<crypto::SecureBytes>> Open(std::string_view token);

  // Deletes one token. Errors as Open (an unknown token is kInvalidArgument).
  Status Revoke(std::string_view token);

  // Deletes every operation token of this node (after promote / disable).
  Status RevokeAll();

 private:
  Result<std::string> EntryKey(std::string_view token, bool create_salt);

  PluginControl* control_;
};

}  // namespace rocksdr::sidecar
