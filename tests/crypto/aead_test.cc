#include "rocksdr/crypto/aead.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

SecureBytes NewKey() {
  Result<SecureBytes> k = RandomSecureBytes(kAeadKeySize);
  EXPECT_TRUE(k.ok());
  return *k;
}

std::string Str(const SecureBytes& b) { return std::string(AsStringView(b)); }

TEST(Aead, SealThenOpenRoundTrips) {
  SecureBytes key = NewKey();
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{4096}, size_t{100000}}) {
    std::string plain(n, '\0');
    for (size_t i = 0; i < n; ++i) plain[i] = static_cast<char>(i * 31 + 7);
    Result<std::string> blob = Seal(key, plain, "purpose/v1");
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_EQ(blob->size(), plain.size() + kAeadOverhead);
    if (n >= 16) {
      EXPECT_EQ(blob->find(plain), std::string::npos) << "plaintext visible in blob";
    }
    Result<SecureBytes> opened = Open(key, *blob, "purpose/v1");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(Str(*opened), plain);
  }
}

TEST(Aead, BlobIsSelfDescribing) {
  SecureBytes key = NewKey();
  Result<std::string> blob = Seal(key, "secret", "");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ((*blob)[0], 'R');
  EXPECT_EQ((*blob)[1], 'D');
  EXPECT_EQ(static_cast<uint8_t>((*blob)[2]), kAeadVersion);
  EXPECT_EQ(static_cast<uint8_t>((*blob)[3]), kAeadAlgorithmAes256Gcm);
}

TEST(Aead, NonceIsFreshForEverySeal) {
  SecureBytes key = NewKey();
  std::set<std::string> nonces;
  std::set<std::string> blobs;
  for (int i = 0; i < 200; ++i) {
    Result<std::string> blob = Seal(key, "same plaintext", "ad");
    ASSERT_TRUE(blob.ok());
    nonces.insert(blob->substr(kAeadHeaderSize, kAeadNonceSize));
    blobs.insert(*blob);
  }
  EXPECT_EQ(nonces.size(), 200u);
  EXPECT_EQ(blobs.size(), 200u);
}

TEST(Aead, WrongKeyIsUnauthenticated) {
  SecureBytes key = NewKey();
  SecureBytes other = NewKey();
  Result<std::string> blob = Seal(key, "the CA private key", "rocksdr/keyring/v1");
  ASSERT_TRUE(blob.ok());
  Result<SecureBytes> opened = Open(other, *blob, "rocksdr/keyring/v1");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kUnauthenticated);
  EXPECT_NE(opened.status().message().find("authentication failed"), std::string::npos);
  EXPECT_EQ(opened.status().message().find("the CA private key"), std::string::npos);
}

TEST(Aead, WrongAssociatedDataIsUnauthenticated) {
  SecureBytes key = NewKey();
  Result<std::string> blob = Seal(key, "payload", "rocksdr/keyring/v1");
  ASSERT_TRUE(blob.ok());
  for (std::string_view aad : {"rocksdr/keyring/v2", "rocksdr/token/v1", "", "rocksdr/keyring/v1 "}) {
    Result<SecureBytes> opened = Open(key, *blob, aad);
    ASSERT_FALSE(opened.ok()) << aad;
    EXPECT_EQ(opened.status().code(), Code::kUnauthenticated) << aad;
  }
}

TEST(Aead, EveryTamperedByteIsDetected) {
  SecureBytes key = NewKey();
  Result<std::string> blob = Seal(key, "0123456789abcdef0123", "ad");
  ASSERT_TRUE(blob.ok());
  // Header bytes give kCorruption (magic/version/algorithm); any other byte fails authentication.
  for (size_t i = 0; i < blob->size(); ++i) {
    std::string bad = *blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    Result<SecureBytes> opened = Open(key, bad, "ad");
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    if (i < kAeadHeaderSize) {
      EXPECT_EQ(opened.status().code(), Code::kCorruption) << "byte " << i;
    } else {
      EXPECT_EQ(opened.status().code(), Code::kUnauthenticated) << "byte " << i;
    }
  }
}

TEST(Aead, TruncatedAndExtendedBlobsFail) {
  SecureBytes key = NewKey();
  Result<std::string> blob = Seal(key, "payload bytes", "ad");
  ASSERT_TRUE(blob.ok());
  Result<SecureBytes> shorter = Open(key, blob->substr(0, blob->size() - 1), "ad");
  EXPECT_EQ(shorter.status().code(), Code::kUnauthenticated);
  Result<SecureBytes> longer = Open(key, *blob + "x", "ad");
  EXPECT_EQ(longer.status().code(), Code::kUnauthenticated);
  Result<SecureBytes> tiny = Open(key, blob->substr(0, kAeadOverhead - 1), "ad");
  EXPECT_EQ(tiny.status().code(), Code::kCorruption);
  EXPECT_NE(tiny.status().message().find("shorter"), std::string::npos);
  EXPECT_EQ(Open(key, "", "ad").status().code(), Code::kCorruption);
}

TEST(Aead, UnknownVersionIsCorruption) {
  SecureBytes key = NewKey();
  Result<std::string> blob = Seal(key, "x", "ad");
  ASSERT_TRUE(blob.ok());
  std::string v2 = *blob;
  v2[2] = 2;
  Result<SecureBytes> opened = Open(key, v2, "ad");
  EXPECT_EQ(opened.status().code(), Code::kCorruption);
  EXPECT_NE(opened.status().message().find("version 2"), std::string::npos);
}

TEST(Aead, SizesAreBounded) {
  SecureBytes key = NewKey();
  SecureBytes short_key(16, 1);
  EXPECT_EQ(Seal(short_key, "x", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Open(short_key, std::string(64, 'a'), "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Seal(SecureBytes{}, "x", "").status().code(), Code::kInvalidArgument);
  std::string too_big(kMaxSealedBlobSize + 1, 'a');
  EXPECT_EQ(Open(key, too_big, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Seal(key, std::string_view(too_big).substr(0, kMaxSealPlaintextSize + 1), "")
                .status().code(),
            Code::kInvalidArgument);
  std::string big_aad(kMaxAssociatedDataSize + 1, 'a');
  EXPECT_EQ(Seal(key, "x", big_aad).status().code(), Code::kInvalidArgument);
  // The largest plaintext still seals and opens.
  Result<std::string> max = Seal(key, std::string_view(too_big).substr(0, kMaxSealPlaintextSize), "");
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size(), kMaxSealedBlobSize);
  EXPECT_TRUE(Open(key, *max, "").ok());
}

}  // namespace
}  // namespace rocksdr::crypto
