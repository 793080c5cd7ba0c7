// Secure randomness and constant-time comparison. All randomness in rocksdr comes from here
// (OpenSSL's RAND_bytes, a CSPRNG seeded by the OS).
//
// Who may call: anyone, from any thread (OpenSSL 3's RAND is thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto {

// Largest single request; bigger requests are refused (kInvalidArgument).
inline constexpr size_t kMaxRandomBytes = 1 << 20;

// Fills out[0..n) with CSPRNG bytes. Fails (kInternal) only if OpenSSL's RNG fails.
Status RandomBytes(uint8_t* out, size_t n);

// n CSPRNG bytes.
Result<SecureBytes> RandomSecureBytes(size_t n);

// n characters drawn uniformly (rejection sampling, no modulo bias) from [0-9A-Za-z].
Result<SecureString> RandomBase62(size_t n);

// A random RFC 4122 version-4 UUID in lower-case hex, e.g. "bab0ea36-23f6-d21d-4ca6-a9c3673766a3".
Result<std::string> RandomUuid();

// True iff a and b have equal length and equal bytes. The time taken depends only on the
// lengths, never on the contents (CRYPTO_memcmp).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace rocksdr::crypto
