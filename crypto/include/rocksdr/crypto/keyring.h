// Keyring: the versioned set of named secret keys that the sidecar keeps sealed under the root
// key (DESIGN.md "Seal"): the replication CA private key, the JWT signing key, the token HMAC
// key, and any key added later (names are free-form within the rules below).
//
// A Keyring lives in memory only while the sidecar is unsealed. At rest it exists only as the
// blob of SealKeyring: the canonical encoding (keyring.cc documents its grammar; schema version
// kKeyringSchemaVersion) sealed with AES-256-GCM (aead.h) under the 32-byte root key, with the
// associated data "rocksdr/keyring/v1" (purpose + version). OpenKeyring with a wrong root key
// fails authentication (kUnauthenticated) and the key is never used for anything else; that is
// also how a reconstructed root key is checked after unseal (vault-dr-api.md).
//
// Bounds (enforced by Put and by the decoder before any allocation): at most kMaxKeyringKeys
// keys; names 1..kMaxKeyNameSize characters of [a-z0-9._/-]; key values 1..kMaxKeySize bytes;
// all values together at most kMaxKeyringValueBytes.
//
// Every key value is a SecureBytes: it is zeroized when the Keyring releases it (Put over an
// existing name, Remove, destruction). A Keyring is move-only so that secrets are not copied by
// accident; Clone() copies explicitly.
//
// Who may call: the sidecar's seal/unseal code and anyone it hands the keyring to.
// Thread safety: none inside; like a std::map (const methods may run concurrently, mutation
// needs external synchronization).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto {

inline constexpr uint8_t kKeyringSchemaVersion = 1;
inline constexpr size_t kMaxKeyringKeys = 256;
inline constexpr size_t kMaxKeyNameSize = 128;
inline constexpr size_t kMaxKeySize = 64 * 1024;
inline constexpr size_t kMaxKeyringValueBytes = 4 * 1024 * 1024;
inline constexpr size_t kRootKeySize = 32;
// Associated data of a sealed keyring: its purpose and format version.
inline constexpr std::string_view kKeyringAssociatedData = "rocksdr/keyring/v1";

// Names of the keys the sidecar keeps (any other valid name may be added).
inline constexpr std::string_view kReplicationCaKeyName = "replication-ca/key";  // PEM (PKCS#8)
inline constexpr std::string_view kJwtSigningKeyName = "jwt-signing/key";        // PEM (PKCS#8)
inline constexpr std::string_view kTokenHmacKeyName = "token-hmac/key";          // 32 raw bytes

class Keyring {
 public:
  Keyring() = default;
  // A moved-from keyring is empty, with generation 0.
  Keyring(Keyring&& other) noexcept { *this = std::move(other); }
  Keyring& operator=(Keyring&& other) noexcept {
    if (this != &other) {
      keys_ = std::move(other.keys_);  // our old values are released (zeroized) here
      value_bytes_ = std::exchange(other.value_bytes_, 0);
      generation_ = std::exchange(other.generation_, 0);
      other.keys_.clear();
    }
    return *this;
  }
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // An explicit deep copy (the copy's values are SecureBytes too).
  Keyring Clone() const;

  // Inserts or replaces the key `name`; the replaced value is zeroized. Increments generation().
  // Errors: kInvalidArgument (bad name, empty or oversized value), kResourceExhausted (too many
  // keys or too many value bytes). On error the keyring is unchanged.
  Status Put(std::string_view name, SecureBytes value);

  // The value of `name`, or nullptr if absent. The pointer is valid until the next Put/Remove
  // of the same name, or until the keyring is destroyed or moved from.
  const SecureBytes* Get(std::string_view name) const;
  bool Contains(std::string_view name) const { return Get(name) != nullptr; }

  // Removes `name` (its value is zeroized). Returns false if it was absent. Increments
  // generation() only when something was removed.
  bool Remove(std::string_view name);

  // Key names in ascending byte order.
  std::vector<std::string> Names() const;
  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // Number of changes since the keyring was created (persisted by Encode/Decode), so a caller
  // can tell an older sealed keyring from a newer one.
  uint64_t generation() const { return generation_; }

  // The canonical plaintext encoding (secret: it holds every key). Errors: none in practice
  // (the bounds are already enforced by Put); kInternal if they were somehow exceeded.
  Result<SecureBytes> Encode() const;
  // Parses Encode's output. Errors: kCorruption (bad magic, unknown schema version, truncated,
  // trailing bytes, out-of-bounds counts or sizes, invalid or unsorted/duplicate names).
  // Never reads beyond `encoded`; every count and size is bounded before it is used.
  static Result<Keyring> Decode(std::string_view encoded);

  // True if name is a valid key name.
  static bool IsValidName(std::string_view name);

 private:
  std::map<std::string, SecureBytes, std::less<>> keys_;
  size_t value_bytes_ = 0;
  uint64_t generation_ = 0;
};

// 32 fresh CSPRNG bytes. Errors: kInternal (RNG failure).
Result<SecureBytes> GenerateRootKey();

// Encodes and seals `keyring` under `root_key` (32 bytes) with kKeyringAssociatedData.
// Errors: kInvalidArgument (root key size), kInternal.
Result<std::string> SealKeyring(const SecureBytes& root_key, const Keyring& keyring);

// Authenticates and decodes a sealed keyring. Errors: kUnauthenticated (wrong root key or the
// blob was modified — nothing is decoded), kInvalidArgument (root key size, oversized blob),
// kCorruption (not a sealed keyring, or authenticated but malformed contents).
Result<Keyring> OpenKeyring(const SecureBytes& root_key, std::string_view sealed);

}  // namespace rocksdr::crypto
