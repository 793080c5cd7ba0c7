// Implementation of rocksdr/crypto/otp.h.
#include "rocksdr/crypto/otp.h"

#include <string>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {

namespace {

Status LengthMismatch(size_t a, size_t b) {
  // Vault's xor.XORBytes message.
  return Status::InvalidArgument("length of byte slices is not equivalent: " + std::to_string(a) +
                                 " != " + std::to_string(b));
}

}  // namespace

Result<SecureString> GenerateToken(std::string_view prefix) {
  if (prefix.size() != kTokenPrefixLength) {
    return Status::InvalidArgument("token prefix must be exactly 4 characters, got " +
                                   std::to_string(prefix.size()));
  }
  for (char c : prefix) {
    if (c <= ' ' || c > '~') {
      return Status::InvalidArgument("token prefix must be printable ASCII without spaces");
    }
  }
  auto body = RandomBase62(kTokenLength - kTokenPrefixLength);
  if (!body.ok()) return body.status();
  SecureString token;
  token.reserve(kTokenLength);
  token.append(prefix.data(), prefix.size());
  token.append(*body);
  Zeroize(body->data(), body->size());
  return token;
}

Result<SecureString> GenerateOtp(size_t length) {
  if (length == 0 || length > kMaxOtpLength) {
    return Status::InvalidArgument("OTP length must be between 1 and " + std::to_string(kMaxOtpLength) +
                                   ", got " + std::to_string(length));
  }
  return RandomBase62(length);
}

Result<std::string> EncodeToken(std::string_view token, std::string_view otp) {
  if (token.empty()) return Status::InvalidArgument("no token provided");
  if (otp.empty()) return Status::InvalidArgument("no otp provided");
  if (otp.size() != token.size()) {
    return LengthMismatch(otp.size(), token.size()).WithContext("xor of root token failed");
  }
  if (token.size() > kMaxOtpLength) {
    return Status::InvalidArgument("token longer than " + std::to_string(kMaxOtpLength) + " characters");
  }
  SecureString x(token.size(), '\0');
  for (size_t i = 0; i < token.size(); ++i) x[i] = static_cast<char>(otp[i] ^ token[i]);
  std::string out = Base64Encode(std::string_view(x.data(), x.size()), /*padded=*/false);
  Zeroize(x.data(), x.size());
  return out;
}

Result<SecureString> DecodeToken(std::string_view encoded, std::string_view otp) {
  if (encoded.empty()) return Status::InvalidArgument("no encoded token provided");
  if (otp.empty()) return Status::InvalidArgument("no otp provided");
  auto bytes = Base64Decode(encoded, /*padded=*/false, kMaxEncodedTokenLength);
  if (!bytes.ok()) return bytes.status().WithContext("error decoding base64'd token");
  if (bytes->size() != otp.size()) {
    return LengthMismatch(bytes->size(), otp.size()).WithContext("error xoring token");
  }
  SecureString token(otp.size(), '\0');
  for (size_t i = 0; i < otp.size(); ++i) token[i] = static_cast<char>((*bytes)[i] ^ static_cast<uint8_t>(otp[i]));
  return token;
}

}  // namespace rocksdr::crypto
