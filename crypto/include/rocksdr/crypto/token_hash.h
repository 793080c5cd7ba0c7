// Token hashing: rocksdr stores tokens (root, operation and service tokens, activation-token
// ids) only as HMAC-SHA256 digests under the keyring's token HMAC key (kTokenHmacKeyName in
// keyring.h), so a copy of the token store — which is replicated to every DR secondary — does
// not reveal a usable token (DESIGN.md invariant 6).
//
// Contracts:
//   - HashToken(key, t) is deterministic: the same key and token always give the same 64
//     lower-case hex characters, so the hash can be the lookup key of the token store.
//   - VerifyTokenHash compares in constant time (ConstantTimeEquals, random.h).
//   - The key must be at least kMinTokenHmacKeySize bytes (the sidecar uses 32 CSPRNG bytes).
//     With a shorter key, or if OpenSSL fails, HashToken returns "" — never a valid hash — and
//     VerifyTokenHash returns false; "" must not be stored.
//   - Neither the key nor the token is ever logged or put in an error.
//
// Who may call: anyone, from any thread (pure functions).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rocksdr/crypto/secure_bytes.h"

namespace rocksdr::crypto {

inline constexpr size_t kMinTokenHmacKeySize = 32;
// Length of a token hash: hex of a 32-byte HMAC-SHA256.
inline constexpr size_t kTokenHashSize = 64;

// Lower-case hex HMAC-SHA256(hmac_key, token), or "" if the key is shorter than
// kMinTokenHmacKeySize or OpenSSL fails.
std::string HashToken(const SecureBytes& hmac_key, std::string_view token);

// True iff stored_hash is a valid hash (kTokenHashSize lower-case hex characters) and equals
// HashToken(hmac_key, token). Constant time in the contents of stored_hash and the token's hash.
bool VerifyTokenHash(const SecureBytes& hmac_key, std::string_view token,
                     std::string_view stored_hash);

// True iff text has the form of a token hash (kTokenHashSize characters of [0-9a-f]).
bool IsTokenHash(std::string_view text);

}  // namespace rocksdr::crypto
