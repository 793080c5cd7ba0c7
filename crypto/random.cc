// Implementation of rocksdr/crypto/random.h on OpenSSL's RAND_bytes and CRYPTO_memcmp.
#include "rocksdr/crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <climits>

namespace rocksdr::crypto {

namespace {

// 0xFF if x < y, else 0 (x, y < 256), without a branch.
inline unsigned LessMask(unsigned x, unsigned y) { return ((x - y) >> 8) & 0xFF; }

// x in 0..61 -> [0-9A-Za-z], computed with masks rather than a table lookup so that the
// characters of a token or OTP do not leak through cache timing.
inline char Base62Char(unsigned x) {
  const unsigned digit = LessMask(x, 10);
  const unsigned upper = LessMask(x, 36) & ~digit & 0xFF;
  const unsigned lower = ~(digit | upper) & 0xFF;
  return static_cast<char>((digit & (x + '0')) | (upper & (x - 10 + 'A')) | (lower & (x - 36 + 'a')));
}
// Largest multiple of 62 that fits in a byte: bytes >= 248 are rejected so that
// byte % 62 is uniform.
constexpr unsigned kBase62Limit = 62 * 4;

}  // namespace

Status RandomBytes(uint8_t* out, size_t n) {
  if (n == 0) return Status::OK();
  if (n > kMaxRandomBytes) {
    return Status::InvalidArgument("random request of " + std::to_string(n) +
                                   " bytes exceeds the limit of " + std::to_string(kMaxRandomBytes));
  }
  if (out == nullptr) return Status::InvalidArgument("random output buffer is null");
  static_assert(kMaxRandomBytes <= INT_MAX);
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    return Status::Internal("OpenSSL RAND_bytes failed; the system random generator is unavailable");
  }
  return Status::OK();
}

Result<SecureBytes> RandomSecureBytes(size_t n) {
  if (n > kMaxRandomBytes) {
    return Status::InvalidArgument("random request of " + std::to_string(n) +
                                   " bytes exceeds the limit of " + std::to_string(kMaxRandomBytes));
  }
  SecureBytes out(n);
  ROCKSDR_RETURN_IF_ERROR(RandomBytes(out.data(), n));
  return out;
}

Result<SecureString> RandomBase62(size_t n) {
  if (n > kMaxRandomBytes) {
    return Status::InvalidArgument("random base62 request of " + std::to_string(n) +
                                   " characters exceeds the limit of " + std::to_string(kMaxRandomBytes));
  }
  SecureString out;
  out.reserve(n);
  // Draw in batches; on average 248/256 of the bytes are accepted.
  std::array<uint8_t, 64> buf{};
  while (out.size() < n) {
    Status s = RandomBytes(buf.data(), buf.size());
    if (!s.ok()) {
      Zeroize(out.data(), out.size());
      return s;
    }
    for (uint8_t b : buf) {
      if (out.size() == n) break;
      if (b >= kBase62Limit) continue;
      out.push_back(Base62Char(b % 62U));
    }
  }
  Zeroize(buf.data(), buf.size());
  return out;
}

Result<std::string> RandomUuid() {
  std::array<uint8_t, 16> b{};
  ROCKSDR_RETURN_IF_ERROR(RandomBytes(b.data(), b.size()));
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // variant 10xx (RFC 4122)
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0f]);
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace rocksdr::crypto
