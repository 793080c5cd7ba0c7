#include "rocksdr/crypto/secure_bytes.h"

#include <openssl/crypto.h>

namespace rocksdr::crypto {

void Zeroize(void* p, size_t n) {
  if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

}  // namespace rocksdr::crypto
