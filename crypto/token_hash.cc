#include "rocksdr/crypto/token_hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {

std::string HashToken(const SecureBytes& hmac_key, std::string_view token) {
  if (hmac_key.size() < kMinTokenHmacKeySize) return std::string();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
           reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac,
           &mac_size) == nullptr ||
      mac_size != kTokenHashSize / 2) {
    return std::string();
  }
  std::string hex = HexEncode(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
  Zeroize(mac, sizeof(mac));
  return hex;
}

bool IsTokenHash(std::string_view text) {
  if (text.size() != kTokenHashSize) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool VerifyTokenHash(const SecureBytes& hmac_key, std::string_view token,
                     std::string_view stored_hash) {
  if (stored_hash.size() != kTokenHashSize) return false;  // length is not secret
  std::string computed = HashToken(hmac_key, token);
  if (computed.size() != kTokenHashSize) return false;
  // Compare first (constant time), then check the form, so timing does not depend on where a
  // malformed stored hash goes wrong.
  bool equal = ConstantTimeEquals(computed, stored_hash);
  return equal && IsTokenHash(stored_hash);
}

}  // namespace rocksdr::crypto
