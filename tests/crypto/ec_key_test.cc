// Tests of P-521 key handling: generation, PEM in/out, JWK import, and refusal of everything
// that is not a valid P-521 key.
#include "rocksdr/crypto/ec_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "rocksdr/crypto/encoding.h"
#include "support/rfc7515_a4.h"

namespace rocksdr::crypto {
namespace {

namespace a4 = ::rocksdr::testing::rfc7515_a4;

// Private PEM of `pkey` (takes ownership), optionally encrypted.
std::string ForeignPrivatePem(EVP_PKEY* pkey, bool encrypted = false) {
  EXPECT_NE(pkey, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  static char pass[] = "correct horse";
  int ok = encrypted ? PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), pass, sizeof(pass) - 1, nullptr,
                                                     nullptr)
                     : PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return pem;
}

std::string ForeignPublicPem(const char* alg, const char* param) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, alg, param);
  EXPECT_NE(pkey, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio, pkey), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return pem;
}

// Flips one bit of a base64url coordinate's decoded bytes and re-encodes it.
std::string FlipLastBit(std::string_view b64) {
  Result<SecureBytes> raw = Base64UrlDecode(b64);
  EXPECT_TRUE(raw.ok());
  raw->back() ^= 0x01;
  return Base64UrlEncode(AsStringView(*raw));
}

TEST(EcKey, Rfc7515A4JwkImportMatchesItsPublicPem) {
  Result<EcPrivateKey> priv = EcPrivateKey::FromJwk(a4::kX, a4::kY, a4::kD);
  ASSERT_TRUE(priv.ok()) << priv.status().ToString();
  Result<EcPublicKey> pub = priv->PublicKey();
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  Result<EcPublicJwk> jwk = pub->ToJwk();
  ASSERT_TRUE(jwk.ok());
  EXPECT_EQ(jwk->x, a4::kX);
  EXPECT_EQ(jwk->y, a4::kY);
  Result<std::string> pem = pub->ToPem();
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(*pem, a4::kPublicPem);

  Result<EcPublicKey> from_pem = EcPublicKey::FromPem(a4::kPublicPem);
  ASSERT_TRUE(from_pem.ok()) << from_pem.status().ToString();
  Result<EcPublicJwk> jwk2 = from_pem->ToJwk();
  ASSERT_TRUE(jwk2.ok());
  EXPECT_EQ(jwk2->x, a4::kX);
  EXPECT_EQ(jwk2->y, a4::kY);

  Result<EcPublicKey> from_jwk = EcPublicKey::FromJwk(a4::kX, a4::kY);
  ASSERT_TRUE(from_jwk.ok());
  EXPECT_EQ(*from_jwk->ToPem(), a4::kPublicPem);
}

TEST(EcKey, GeneratedKeysRoundTripThroughPem) {
  Result<EcPrivateKey> key = EcPrivateKey::Generate();
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  Result<EcPrivateKey> other = EcPrivateKey::Generate();
  ASSERT_TRUE(other.ok());

  Result<SecureString> priv_pem = key->ToPem();
  ASSERT_TRUE(priv_pem.ok());
  EXPECT_EQ(priv_pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);

  Result<EcPrivateKey> reloaded = EcPrivateKey::FromPem(std::string_view(priv_pem->data(), priv_pem->size()));
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  std::string pub_pem = *key->PublicKey()->ToPem();
  EXPECT_EQ(*reloaded->PublicKey()->ToPem(), pub_pem);
  EXPECT_NE(*other->PublicKey()->ToPem(), pub_pem);  // two generations differ

  Result<EcPublicKey> pub = EcPublicKey::FromPem(pub_pem);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(*pub->ToPem(), pub_pem);
  EXPECT_EQ(pub_pem.rfind("-----BEGIN PUBLIC KEY-----\n", 0), 0u);

  // The public key object holds no private part: OpenSSL cannot write it as a private key.
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_NE(PEM_write_bio_PrivateKey(bio, pub->pkey(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  BIO_free(bio);
}

TEST(EcKey, Sec1PrivateKeyPemIsAccepted) {
  Result<EcPrivateKey> key = EcPrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  BIO* bio = BIO_new(BIO_s_mem());
  // Traditional ("EC PRIVATE KEY") form, as `openssl ecparam -genkey` writes it.
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio, key->pkey(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  ASSERT_NE(pem.find("BEGIN EC PRIVATE KEY"), std::string::npos);
  Result<EcPrivateKey> reloaded = EcPrivateKey::FromPem(pem);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(*reloaded->PublicKey()->ToPem(), *key->PublicKey()->ToPem());
}

TEST(EcKey, RefusesOtherCurvesAndKeyTypes) {
  Result<EcPrivateKey> p256 = EcPrivateKey::FromPem(ForeignPrivatePem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")));
  ASSERT_FALSE(p256.ok());
  EXPECT_EQ(p256.status().code(), Code::kInvalidArgument);
  EXPECT_NE(p256.status().message().find("prime256v1"), std::string::npos) << p256.status().message();
  EXPECT_NE(p256.status().message().find("P-521"), std::string::npos);

  Result<EcPublicKey> p384 = EcPublicKey::FromPem(ForeignPublicPem("EC", "P-384"));
  ASSERT_FALSE(p384.ok());
  EXPECT_EQ(p384.status().code(), Code::kInvalidArgument);
  EXPECT_NE(p384.status().message().find("secp384r1"), std::string::npos) << p384.status().message();

  Result<EcPrivateKey> ed = EcPrivateKey::FromPem(ForeignPrivatePem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")));
  ASSERT_FALSE(ed.ok());
  EXPECT_NE(ed.status().message().find("not an elliptic-curve key"), std::string::npos) << ed.status().message();

  Result<EcPrivateKey> rsa = EcPrivateKey::FromPem(ForeignPrivatePem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})));
  ASSERT_FALSE(rsa.ok());
  EXPECT_EQ(rsa.status().code(), Code::kInvalidArgument);
}

TEST(EcKey, RefusesEncryptedPemWithoutPrompting) {
  // Would block on a terminal prompt if the passphrase callback were OpenSSL's default.
  std::string pem = ForeignPrivatePem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"), /*encrypted=*/true);
  ASSERT_NE(pem.find("ENCRYPTED"), std::string::npos);
  Result<EcPrivateKey> key = EcPrivateKey::FromPem(pem);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::kInvalidArgument);
  EXPECT_NE(key.status().message().find("encrypted"), std::string::npos);
}

TEST(EcKey, RefusesMalformedPem) {
  for (std::string_view bad : {std::string_view(""), std::string_view("not a pem"),
                               std::string_view("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")}) {
    Result<EcPublicKey> pub = EcPublicKey::FromPem(bad);
    ASSERT_FALSE(pub.ok());
    EXPECT_EQ(pub.status().code(), Code::kInvalidArgument);
    Result<EcPrivateKey> priv = EcPrivateKey::FromPem(bad);
    ASSERT_FALSE(priv.ok());
    EXPECT_EQ(priv.status().code(), Code::kInvalidArgument);
  }
  // A public PEM is not a private key, and a private PEM is not accepted where a public one is.
  Result<EcPrivateKey> priv = EcPrivateKey::FromPem(a4::kPublicPem);
  EXPECT_FALSE(priv.ok());
  Result<EcPrivateKey> gen = EcPrivateKey::Generate();
  ASSERT_TRUE(gen.ok());
  SecureString priv_pem = *gen->ToPem();
  Result<EcPublicKey> pub = EcPublicKey::FromPem(std::string_view(priv_pem.data(), priv_pem.size()));
  ASSERT_FALSE(pub.ok());
  // The refusal never echoes the (secret) input.
  EXPECT_EQ(pub.status().message().find("MII"), std::string::npos);

  // Oversized input is refused before parsing.
  std::string huge(kMaxKeyPemSize + 1, 'A');
  Result<EcPublicKey> big = EcPublicKey::FromPem(huge);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("at most"), std::string::npos);
}

TEST(EcKey, JwkImportRefusesBadCoordinates) {
  // Point not on the curve.
  Result<EcPublicKey> off = EcPublicKey::FromJwk(a4::kX, FlipLastBit(a4::kY));
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.status().code(), Code::kInvalidArgument);
  EXPECT_NE(off.status().message().find("not a point on P-521"), std::string::npos) << off.status().message();

  // d that does not belong to (x, y).
  Result<EcPrivateKey> mismatch = EcPrivateKey::FromJwk(a4::kX, a4::kY, FlipLastBit(a4::kD));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), Code::kInvalidArgument);
  // ...and the message does not contain the private scalar.
  EXPECT_EQ(mismatch.status().message().find(a4::kD.substr(0, 12)), std::string::npos);

  // Wrong lengths: 65 bytes (a P-521 coordinate with its leading zero dropped) and 32 bytes.
  Result<SecureBytes> y = Base64UrlDecode(a4::kY);
  ASSERT_TRUE(y.ok());
  ASSERT_EQ((*y)[0], 0);
  std::string y65 = Base64UrlEncode(AsStringView(*y).substr(1));
  Result<EcPublicKey> short_y = EcPublicKey::FromJwk(a4::kX, y65);
  ASSERT_FALSE(short_y.ok());
  EXPECT_NE(short_y.status().message().find("exactly 66"), std::string::npos) << short_y.status().message();
  Result<EcPublicKey> tiny = EcPublicKey::FromJwk(Base64UrlEncode(std::string(32, 'x')), a4::kY);
  EXPECT_FALSE(tiny.ok());

  // Not base64url (standard alphabet characters, padding).
  Result<EcPublicKey> plus = EcPublicKey::FromJwk(std::string(a4::kX).replace(3, 1, "+"), a4::kY);
  ASSERT_FALSE(plus.ok());
  EXPECT_NE(plus.status().message().find("base64url"), std::string::npos);
  Result<EcPrivateKey> padded = EcPrivateKey::FromJwk(a4::kX, a4::kY, std::string(a4::kD) + "==");
  EXPECT_FALSE(padded.ok());
}

}  // namespace
}  // namespace rocksdr::crypto
