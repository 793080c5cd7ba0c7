#include "rocksdr/crypto/ec_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <array>
#include <climits>
#include <cstring>
#include <utility>

#include "rocksdr/crypto/encoding.h"

namespace rocksdr::crypto {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BnClearFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnClearFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;

constexpr size_t kEncodedPointSize = 1 + 2 * kP521CoordinateSize;  // 0x04 || X || Y

std::shared_ptr<evp_pkey_st> Own(EVP_PKEY* pkey) { return {pkey, EVP_PKEY_free}; }

// Clears OpenSSL's per-thread error queue so a failure here does not leak into a later,
// unrelated ERR_get_error() on this thread. OpenSSL's reason strings never hold key material,
// but we do not forward them: our own message says what was wrong with the input.
void ClearOpenSslErrors() { ERR_clear_error(); }

Status OpenSslFailure(std::string_view what) {
  unsigned long err = ERR_peek_last_error();  // NOLINT(runtime/int): OpenSSL's type
  std::string msg = "OpenSSL failed to ";
  msg += what;
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    msg += " (";
    msg += buf;
    msg += ")";
  }
  ClearOpenSslErrors();
  return Status::Internal(std::move(msg));
}

// Refuses anything but an EC key on P-521.
Status CheckP521(EVP_PKEY* pkey, std::string_view what) {
  if (EVP_PKEY_is_a(pkey, "EC") != 1) {
    return Status::InvalidArgument(std::string(what) + " is not an elliptic-curve key; a P-521 (secp521r1) key is required");
  }
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1) {
    ClearOpenSslErrors();
    return Status::InvalidArgument(std::string(what) +
                                   " does not use a named curve; a P-521 (secp521r1) key is required");
  }
  if (std::string_view(group, len) != "secp521r1" && std::string_view(group, len) != "P-521") {
    return Status::InvalidArgument(std::string(what) + " uses curve " + std::string(group, len) +
                                   "; a P-521 (secp521r1) key is required");
  }
  return Status::OK();
}

Status CheckPublic(EVP_PKEY* pkey, std::string_view what) {
  CtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return OpenSslFailure("allocate a key context");
  if (EVP_PKEY_public_check(ctx.get()) != 1) {
    ClearOpenSslErrors();
    return Status::InvalidArgument(std::string(what) + " is not a valid point on P-521");
  }
  return Status::OK();
}

Status CheckKeyPair(EVP_PKEY* pkey, std::string_view what) {
  CtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return OpenSslFailure("allocate a key context");
  if (EVP_PKEY_check(ctx.get()) != 1) {  // public point, private scalar range, and that they match
    ClearOpenSslErrors();
    return Status::InvalidArgument(std::string(what) +
                                   " is not a consistent P-521 key pair (public point does not match the private key)");
  }
  return Status::OK();
}

Result<BioPtr> ReadOnlyBio(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxKeyPemSize) {
    return Status::InvalidArgument(std::string(what) + " PEM is " + std::to_string(pem.size()) +
                                   " bytes; at most " + std::to_string(kMaxKeyPemSize) + " are accepted");
  }
  if (pem.empty()) return Status::InvalidArgument(std::string(what) + " PEM is empty");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslFailure("allocate a memory BIO");
  return bio;
}

// Passphrase callback that refuses: an encrypted PEM must fail instead of prompting on a
// terminal (OpenSSL's default when no callback is given).
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

Result<std::string> DecodeCoordinate(std::string_view b64, std::string_view name) {
  // 66 bytes encode to 88 base64url characters; allow a little slack so the length error below
  // (which says what was expected) is what the caller sees for near misses.
  Result<SecureBytes> raw = Base64UrlDecode(b64, 4 * kP521CoordinateSize);
  if (!raw.ok()) {
    return Status::InvalidArgument("JWK \"" + std::string(name) + "\" is not valid base64url: " +
                                   raw.status().message());
  }
  if (raw->size() != kP521CoordinateSize) {
    return Status::InvalidArgument("JWK \"" + std::string(name) + "\" decodes to " + std::to_string(raw->size()) +
                                   " bytes; P-521 needs exactly " + std::to_string(kP521CoordinateSize));
  }
  return std::string(AsStringView(*raw));  // x and y are public; d is handled by the caller.
}

// Builds an EVP_PKEY from raw coordinates. `d` is null for a public key.
Result<std::shared_ptr<evp_pkey_st>> FromRaw(const uint8_t* x, const uint8_t* y, const uint8_t* d) {
  std::array<uint8_t, kEncodedPointSize> point;
  point[0] = 0x04;
  std::memcpy(point.data() + 1, x, kP521CoordinateSize);
  std::memcpy(point.data() + 1 + kP521CoordinateSize, y, kP521CoordinateSize);

  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return OpenSslFailure("allocate a parameter builder");
  BnPtr priv;
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-521", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return OpenSslFailure("build key parameters");
  }
  if (d != nullptr) {
    priv.reset(BN_secure_new());
    if (!priv || BN_bin2bn(d, static_cast<int>(kP521CoordinateSize), priv.get()) == nullptr ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1) {
      return OpenSslFailure("build private key parameters");
    }
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return OpenSslFailure("build key parameters");

  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return OpenSslFailure("initialize EC key import");
  EVP_PKEY* raw = nullptr;
  int selection = d != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1 || raw == nullptr) {
    ClearOpenSslErrors();
    return Status::InvalidArgument("JWK (x, y) is not a point on P-521");
  }
  std::shared_ptr<evp_pkey_st> pkey = Own(raw);
  ROCKSDR_RETURN_IF_ERROR(CheckP521(pkey.get(), "JWK key"));
  if (d != nullptr) {
    ROCKSDR_RETURN_IF_ERROR(CheckKeyPair(pkey.get(), "JWK key"));
  } else {
    ROCKSDR_RETURN_IF_ERROR(CheckPublic(pkey.get(), "JWK key"));
  }
  return pkey;
}

Result<BnPtr> GetBn(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1 || bn == nullptr) return OpenSslFailure("read a key parameter");
  return BnPtr(bn);
}

Result<std::array<uint8_t, 2 * kP521CoordinateSize>> PublicXY(EVP_PKEY* pkey) {
  Result<BnPtr> x = GetBn(pkey, OSSL_PKEY_PARAM_EC_PUB_X);
  if (!x.ok()) return x.status();
  Result<BnPtr> y = GetBn(pkey, OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!y.ok()) return y.status();
  std::array<uint8_t, 2 * kP521CoordinateSize> xy;
  if (BN_bn2binpad(x->get(), xy.data(), kP521CoordinateSize) != static_cast<int>(kP521CoordinateSize) ||
      BN_bn2binpad(y->get(), xy.data() + kP521CoordinateSize, kP521CoordinateSize) !=
          static_cast<int>(kP521CoordinateSize)) {
    return OpenSslFailure("encode the public point");
  }
  return xy;
}

template <typename Str>
Result<Str> BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int): OpenSSL's type
  if (len <= 0 || data == nullptr) return OpenSslFailure("write PEM");
  return Str(data, static_cast<size_t>(len));
}

}  // namespace

// ---- EcPublicKey ----

Result<EcPublicKey> EcPublicKey::FromPem(std::string_view pem) {
  Result<BioPtr> bio = ReadOnlyBio(pem, "public key");
  if (!bio.ok()) return bio.status();
  EVP_PKEY* raw = PEM_read_bio_PUBKEY_ex(bio->get(), nullptr, RefusePassphrase, nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    ClearOpenSslErrors();
    return Status::InvalidArgument(
        "public key is not a PEM \"PUBLIC KEY\" block (SubjectPublicKeyInfo); expected "
        "-----BEGIN PUBLIC KEY-----");
  }
  std::shared_ptr<evp_pkey_st> pkey = Own(raw);
  ROCKSDR_RETURN_IF_ERROR(CheckP521(pkey.get(), "public key"));
  ROCKSDR_RETURN_IF_ERROR(CheckPublic(pkey.get(), "public key"));
  return EcPublicKey(std::move(pkey));
}

Result<EcPublicKey> EcPublicKey::FromJwk(std::string_view x, std::string_view y) {
  Result<std::string> xb = DecodeCoordinate(x, "x");
  if (!xb.ok()) return xb.status();
  Result<std::string> yb = DecodeCoordinate(y, "y");
  if (!yb.ok()) return yb.status();
  auto pkey = FromRaw(reinterpret_cast<const uint8_t*>(xb->data()), reinterpret_cast<const uint8_t*>(yb->data()),
                      nullptr);
  if (!pkey.ok()) return pkey.status();
  return EcPublicKey(std::move(*pkey));
}

Result<std::string> EcPublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslFailure("allocate a memory BIO");
  if (PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) return OpenSslFailure("write a public key PEM");
  return BioContents<std::string>(bio.get());
}

Result<EcPublicJwk> EcPublicKey::ToJwk() const {
  auto xy = PublicXY(pkey_.get());
  if (!xy.ok()) return xy.status();
  const char* p = reinterpret_cast<const char*>(xy->data());
  EcPublicJwk jwk;
  jwk.x = Base64UrlEncode(std::string_view(p, kP521CoordinateSize));
  jwk.y = Base64UrlEncode(std::string_view(p + kP521CoordinateSize, kP521CoordinateSize));
  return jwk;
}

// ---- EcPrivateKey ----

Result<EcPrivateKey> EcPrivateKey::Generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
  if (raw == nullptr) return OpenSslFailure("generate a P-521 key pair");
  return EcPrivateKey(Own(raw));
}

Result<EcPrivateKey> EcPrivateKey::FromPem(std::string_view pem) {
  Result<BioPtr> bio = ReadOnlyBio(pem, "private key");
  if (!bio.ok()) return bio.status();
  EVP_PKEY* raw = PEM_read_bio_PrivateKey_ex(bio->get(), nullptr, RefusePassphrase, nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    ClearOpenSslErrors();
    return Status::InvalidArgument(
        "private key is not an unencrypted PEM \"PRIVATE KEY\" (PKCS#8) or \"EC PRIVATE KEY\" block "
        "(encrypted keys are not accepted)");
  }
  std::shared_ptr<evp_pkey_st> pkey = Own(raw);
  ROCKSDR_RETURN_IF_ERROR(CheckP521(pkey.get(), "private key"));
  ROCKSDR_RETURN_IF_ERROR(CheckKeyPair(pkey.get(), "private key"));
  return EcPrivateKey(std::move(pkey));
}

Result<EcPrivateKey> EcPrivateKey::FromJwk(std::string_view x, std::string_view y, std::string_view d) {
  Result<std::string> xb = DecodeCoordinate(x, "x");
  if (!xb.ok()) return xb.status();
  Result<std::string> yb = DecodeCoordinate(y, "y");
  if (!yb.ok()) return yb.status();
  Result<SecureBytes> db = Base64UrlDecode(d, 4 * kP521CoordinateSize);
  if (!db.ok()) return Status::InvalidArgument("JWK \"d\" is not valid base64url: " + db.status().message());
  if (db->size() != kP521CoordinateSize) {
    return Status::InvalidArgument("JWK \"d\" decodes to " + std::to_string(db->size()) +
                                   " bytes; P-521 needs exactly " + std::to_string(kP521CoordinateSize));
  }
  auto pkey = FromRaw(reinterpret_cast<const uint8_t*>(xb->data()), reinterpret_cast<const uint8_t*>(yb->data()),
                      db->data());
  if (!pkey.ok()) return pkey.status();
  return EcPrivateKey(std::move(*pkey));
}

Result<SecureString> EcPrivateKey::ToPem() const {
  // BIO_s_secmem: the buffer is cleansed when it grows and when it is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio) return OpenSslFailure("allocate a memory BIO");
  if (PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslFailure("write a private key PEM");
  }
  return BioContents<SecureString>(bio.get());
}

Result<EcPublicKey> EcPrivateKey::PublicKey() const {
  auto xy = PublicXY(pkey_.get());
  if (!xy.ok()) return xy.status();
  auto pkey = FromRaw(xy->data(), xy->data() + kP521CoordinateSize, nullptr);
  if (!pkey.ok()) return pkey.status();
  return EcPublicKey(std::move(*pkey));
}

}  // namespace rocksdr::crypto
