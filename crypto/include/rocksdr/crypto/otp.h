// Tokens, one-time passwords (OTPs), and the OTP encoding of a freshly generated token, as in
// Vault's generate-root / DR operation-token flow (sdk/helper/roottoken):
//
//   token         = prefix (4 chars, e.g. "rdr.") + 24 base62 chars          (28 chars)
//   otp           = kTokenLength base62 chars from the CSPRNG
//   encoded_token = base64-without-padding( otp XOR token )                (Go's RawStdEncoding)
//
// `rocksdr operator generate-root -decode=<encoded_token> -otp=<otp>` inverts the encoding.
//
// Who may call: anyone, from any thread (pure functions and crypto/random.h).
// Error messages follow Vault's where Vault has one, and never contain a token or an OTP.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto {

inline constexpr size_t kTokenPrefixLength = 4;
inline constexpr size_t kTokenLength = 28;
// Longest OTP (and token) this module accepts; Vault's are 24..28 characters.
inline constexpr size_t kMaxOtpLength = 1024;
// Longest encoded token DecodeToken accepts (the base64 of kMaxOtpLength bytes).
inline constexpr size_t kMaxEncodedTokenLength = (kMaxOtpLength * 4 + 2) / 3;

// A fresh token: `prefix` followed by kTokenLength - 4 random base62 characters.
// `prefix` must be exactly 4 printable, non-space ASCII characters (e.g. "rdr.", "hvs.").
Result<SecureString> GenerateToken(std::string_view prefix = "rdr.");

// A fresh OTP of `length` base62 characters. 1 <= length <= kMaxOtpLength.
Result<SecureString> GenerateOtp(size_t length = kTokenLength);

// base64-without-padding(otp XOR token). Both must be non-empty and of the same length.
Result<std::string> EncodeToken(std::string_view token, std::string_view otp);

// Inverse of EncodeToken: base64-decodes `encoded` (unpadded, strict) and XORs it with `otp`.
// Fails if `encoded` is not valid base64 or its decoded length differs from the OTP's.
Result<SecureString> DecodeToken(std::string_view encoded, std::string_view otp);

}  // namespace rocksdr::crypto
