// Text encodings of binary data: base64 (standard and URL-safe alphabets), hex, base62 check.
// Decoders are strict: they reject characters outside the alphabet, bad padding, and inputs
// longer than max_input (so a caller bounds what it accepts from the network before decoding).
// Error messages name the problem and the position, never the input itself (it may be secret).
//
// Who may call: anyone, from any thread (pure functions).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto {

inline constexpr size_t kDefaultMaxEncodedInput = 64 * 1024;

// Standard alphabet (RFC 4648 §4). padded=false gives Go's RawStdEncoding (Vault's encoded_token).
std::string Base64Encode(std::string_view data, bool padded = true);
// Accepts exactly the form produced with the same `padded` flag.
Result<SecureBytes> Base64Decode(std::string_view text, bool padded = true,
                                 size_t max_input = kDefaultMaxEncodedInput);

// URL-safe alphabet (RFC 4648 §5) without padding, as JWS uses (RFC 7515 §2).
std::string Base64UrlEncode(std::string_view data);
Result<SecureBytes> Base64UrlDecode(std::string_view text, size_t max_input = kDefaultMaxEncodedInput);

// Lower-case hex. HexDecode accepts upper and lower case, even length only.
std::string HexEncode(std::string_view data);
Result<SecureBytes> HexDecode(std::string_view text, size_t max_input = kDefaultMaxEncodedInput);

// True iff every character is in [0-9A-Za-z].
bool IsBase62(std::string_view text);

}  // namespace rocksdr::crypto
