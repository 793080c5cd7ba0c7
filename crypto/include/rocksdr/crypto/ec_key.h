// P-521 (secp521r1) elliptic-curve keys: the key type of the ES512 JWTs that rocksdr issues as
// DR activation tokens (see jwt.h). Built on OpenSSL 3's EVP_PKEY API only (no deprecated EC_KEY).
//
// Every key object holds a validated P-521 key: a constructor function refuses other curves,
// other key types, points that are not on the curve and private keys that do not match their
// public point. So code that receives an EcPublicKey / EcPrivateKey never re-checks the curve.
//
// Formats:
//   - PEM "PUBLIC KEY" (SubjectPublicKeyInfo, RFC 5480) for public keys;
//   - PEM "PRIVATE KEY" (unencrypted PKCS#8, RFC 5208/5915) for private keys. Encrypted PEM is
//     refused (the keyring that stores it is sealed as a whole; see DESIGN.md "Seal");
//   - JWK coordinates (RFC 7518 §6.2): x, y, d as base64url of exactly 66 big-endian bytes
//     each. Import is for tests and interoperability (e.g. the RFC 7515 A.4 example key).
// Inputs are bounded (kMaxKeyPemSize) before they are parsed. Error messages never contain
// key material.
//
// Who may call: anyone. Thread safety: the objects are immutable after construction; copies
// share the underlying OpenSSL key (reference counted), and a key may be used for signing or
// verification from several threads at once (each operation uses its own OpenSSL context).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "rocksdr/crypto/secure_bytes.h"
#include "rocksdr/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header.

namespace rocksdr::crypto {

// Size in bytes of a P-521 field element / scalar: ceil(521 / 8).
inline constexpr size_t kP521CoordinateSize = 66;
// Largest PEM text accepted by the FromPem functions.
inline constexpr size_t kMaxKeyPemSize = 16 * 1024;

// Public JWK coordinates of a P-521 key (base64url, no padding, 66 bytes each).
struct EcPublicJwk {
  std::string x;
  std::string y;
};

class EcPublicKey {
 public:
  // Parses a PEM "PUBLIC KEY" block holding a P-521 key. Errors: kInvalidArgument (too long,
  // not PEM, not EC, wrong curve, point not on the curve).
  static Result<EcPublicKey> FromPem(std::string_view pem);
  // Builds a key from JWK "x"/"y" (base64url of 66 bytes each). Errors: kInvalidArgument.
  static Result<EcPublicKey> FromJwk(std::string_view x, std::string_view y);

  // PEM "PUBLIC KEY" (SubjectPublicKeyInfo), ending in a newline.
  Result<std::string> ToPem() const;
  Result<EcPublicJwk> ToJwk() const;

  // The OpenSSL key, for the crypto layer's own use (jwt.cc). Never null.
  evp_pkey_st* pkey() const { return pkey_.get(); }

 private:
  explicit EcPublicKey(std::shared_ptr<evp_pkey_st> pkey) : pkey_(std::move(pkey)) {}
  friend class EcPrivateKey;
  std::shared_ptr<evp_pkey_st> pkey_;
};

class EcPrivateKey {
 public:
  // A fresh key pair from OpenSSL's CSPRNG. Errors: kInternal (OpenSSL failure).
  static Result<EcPrivateKey> Generate();
  // Parses an unencrypted PEM "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY" (SEC1) holding a
  // P-521 key pair. Errors: kInvalidArgument (too long, not PEM, encrypted, wrong type or
  // curve, inconsistent key pair).
  static Result<EcPrivateKey> FromPem(std::string_view pem);
  // Builds a key pair from JWK "x", "y", "d" (base64url of 66 bytes each); the public point
  // must match d. Errors: kInvalidArgument.
  static Result<EcPrivateKey> FromJwk(std::string_view x, std::string_view y, std::string_view d);

  // Unencrypted PKCS#8 PEM "PRIVATE KEY". The text is secret: store it only sealed.
  Result<SecureString> ToPem() const;
  // The public half, as a separate OpenSSL key that holds no private scalar.
  Result<EcPublicKey> PublicKey() const;

  // The OpenSSL key, for the crypto layer's own use (jwt.cc). Never null.
  evp_pkey_st* pkey() const { return pkey_.get(); }

 private:
  explicit EcPrivateKey(std::shared_ptr<evp_pkey_st> pkey) : pkey_(std::move(pkey)) {}
  std::shared_ptr<evp_pkey_st> pkey_;
};

}  // namespace rocksdr::crypto
