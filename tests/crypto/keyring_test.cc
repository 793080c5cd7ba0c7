#include "rocksdr/crypto/keyring.h"

#include <gtest/gtest.h>

#include <string>

#include "rocksdr/crypto/aead.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

std::string Str(const SecureBytes& b) { return std::string(AsStringView(b)); }

Keyring SampleKeyring() {
  Keyring k;
  EXPECT_TRUE(k.Put(kReplicationCaKeyName, ToSecureBytes("-----BEGIN PRIVATE KEY-----\nca\n")).ok());
  EXPECT_TRUE(k.Put(kJwtSigningKeyName, ToSecureBytes("-----BEGIN PRIVATE KEY-----\njwt\n")).ok());
  EXPECT_TRUE(k.Put(kTokenHmacKeyName, SecureBytes(32, 0x5a)).ok());
  return k;
}

TEST(Keyring, PutGetRemove) {
  Keyring k;
  EXPECT_TRUE(k.empty());
  EXPECT_EQ(k.Get("a"), nullptr);
  ASSERT_TRUE(k.Put("a", ToSecureBytes("one")).ok());
  ASSERT_TRUE(k.Put("b/c", ToSecureBytes("two")).ok());
  ASSERT_NE(k.Get("a"), nullptr);
  EXPECT_EQ(Str(*k.Get("a")), "one");
  EXPECT_EQ(k.generation(), 2u);
  ASSERT_TRUE(k.Put("a", ToSecureBytes("uno")).ok());  // replace
  EXPECT_EQ(Str(*k.Get("a")), "uno");
  EXPECT_EQ(k.size(), 2u);
  EXPECT_EQ(k.generation(), 3u);
  EXPECT_EQ(k.Names(), (std::vector<std::string>{"a", "b/c"}));
  EXPECT_TRUE(k.Remove("a"));
  EXPECT_FALSE(k.Remove("a"));
  EXPECT_FALSE(k.Contains("a"));
  EXPECT_EQ(k.generation(), 4u);
}

TEST(Keyring, PutValidatesNamesAndSizes) {
  Keyring k;
  EXPECT_EQ(k.Put("", ToSecureBytes("x")).code(), Code::kInvalidArgument);
  EXPECT_EQ(k.Put("Upper", ToSecureBytes("x")).code(), Code::kInvalidArgument);
  EXPECT_EQ(k.Put("sp ace", ToSecureBytes("x")).code(), Code::kInvalidArgument);
  EXPECT_EQ(k.Put(std::string(kMaxKeyNameSize + 1, 'a'), ToSecureBytes("x")).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(k.Put(std::string(kMaxKeyNameSize, 'a'), ToSecureBytes("x")).ok());
  EXPECT_EQ(k.Put("empty", SecureBytes{}).code(), Code::kInvalidArgument);
  EXPECT_EQ(k.Put("huge", SecureBytes(kMaxKeySize + 1, 1)).code(), Code::kInvalidArgument);
  EXPECT_TRUE(k.Put("max", SecureBytes(kMaxKeySize, 1)).ok());
  EXPECT_EQ(k.size(), 2u);
}

TEST(Keyring, KeyCountAndTotalBytesAreBounded) {
  Keyring k;
  for (size_t i = 0; i < kMaxKeyringKeys; ++i) {
    ASSERT_TRUE(k.Put("k" + std::to_string(i), SecureBytes(1, 1)).ok());
  }
  Status s = k.Put("one-more", SecureBytes(1, 1));
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_TRUE(k.Put("k0", SecureBytes(2, 2)).ok());  // replacing is still allowed

  Keyring big;
  size_t per = kMaxKeySize;
  size_t n = kMaxKeyringValueBytes / per;
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(big.Put("b" + std::to_string(i), SecureBytes(per, 3)).ok());
  EXPECT_EQ(big.Put("overflow", SecureBytes(1, 3)).code(), Code::kResourceExhausted);
  EXPECT_FALSE(big.Contains("overflow"));
}

TEST(Keyring, EncodeDecodeRoundTrips) {
  Keyring k = SampleKeyring();
  Result<SecureBytes> enc = k.Encode();
  ASSERT_TRUE(enc.ok());
  Result<Keyring> dec = Keyring::Decode(AsStringView(*enc));
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->Names(), k.Names());
  EXPECT_EQ(dec->generation(), k.generation());
  for (const std::string& name : k.Names()) EXPECT_EQ(*dec->Get(name), *k.Get(name)) << name;
  // Canonical: re-encoding gives the same bytes.
  Result<SecureBytes> again = dec->Encode();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *enc);
  // Empty keyring too.
  Result<SecureBytes> empty = Keyring().Encode();
  ASSERT_TRUE(empty.ok());
  Result<Keyring> empty_dec = Keyring::Decode(AsStringView(*empty));
  ASSERT_TRUE(empty_dec.ok());
  EXPECT_TRUE(empty_dec->empty());
}

TEST(Keyring, DecodeRejectsEveryTruncationAndTrailingBytes) {
  Result<SecureBytes> enc = SampleKeyring().Encode();
  ASSERT_TRUE(enc.ok());
  std::string bytes(AsStringView(*enc));
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<Keyring> dec = Keyring::Decode(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(dec.ok()) << n;
    EXPECT_EQ(dec.status().code(), Code::kCorruption) << n;
  }
  Result<Keyring> trailing = Keyring::Decode(bytes + std::string(1, '\0'));
  EXPECT_EQ(trailing.status().code(), Code::kCorruption);
}

// Builds an encoding by hand, to feed the decoder inputs Encode never produces.
std::string Header(uint32_t count, uint8_t schema = kKeyringSchemaVersion) {
  std::string s = "RDKR";
  s.push_back(static_cast<char>(schema));
  s.append(8, '\0');
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(count >> (8 * i)));
  return s;
}
std::string Entry(std::string_view name, uint32_t value_size, char fill = 'v') {
  std::string s;
  s.push_back(static_cast<char>(name.size()));
  s.append(name);
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(value_size >> (8 * i)));
  s.append(std::min<uint32_t>(value_size, 1 << 20), fill);
  return s;
}

TEST(Keyring, DecodeRejectsHostileEncodings) {
  EXPECT_TRUE(Keyring::Decode(Header(1) + Entry("a", 3)).ok());
  EXPECT_EQ(Keyring::Decode("XXXX" + Header(0).substr(4)).status().code(), Code::kCorruption);
  Result<Keyring> v2 = Keyring::Decode(Header(0, 2));
  EXPECT_EQ(v2.status().code(), Code::kCorruption);
  EXPECT_NE(v2.status().message().find("schema version 2"), std::string::npos);
  EXPECT_EQ(Keyring::Decode(Header(kMaxKeyringKeys + 1)).status().code(), Code::kCorruption);
  EXPECT_EQ(Keyring::Decode(Header(0xffffffffu)).status().code(), Code::kCorruption);
  // Value size far beyond the input: refused by the bound, not by reading.
  EXPECT_EQ(Keyring::Decode(Header(1) + Entry("a", 0xfffffff0u).substr(0, 6)).status().code(),
            Code::kCorruption);
  EXPECT_EQ(Keyring::Decode(Header(1) + Entry("a", 0)).status().code(), Code::kCorruption);
  EXPECT_EQ(Keyring::Decode(Header(1) + Entry("BAD", 1)).status().code(), Code::kCorruption);
  EXPECT_EQ(Keyring::Decode(Header(1) + Entry("", 1)).status().code(), Code::kCorruption);
  // Duplicates and out-of-order names.
  EXPECT_EQ(Keyring::Decode(Header(2) + Entry("a", 1) + Entry("a", 1)).status().code(),
            Code::kCorruption);
  EXPECT_EQ(Keyring::Decode(Header(2) + Entry("b", 1) + Entry("a", 1)).status().code(),
            Code::kCorruption);
  EXPECT_TRUE(Keyring::Decode(Header(2) + Entry("a", 1) + Entry("b", 1)).ok());
  // Count says more entries than present.
  EXPECT_EQ(Keyring::Decode(Header(3) + Entry("a", 1) + Entry("b", 1)).status().code(),
            Code::kCorruption);
}

TEST(Keyring, SealAndOpenWithRootKey) {
  Result<SecureBytes> root = GenerateRootKey();
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->size(), kRootKeySize);
  Keyring k = SampleKeyring();
  Result<std::string> sealed = SealKeyring(*root, k);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->find("BEGIN PRIVATE KEY"), std::string::npos);
  Result<Keyring> opened = OpenKeyring(*root, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->Names(), k.Names());
  EXPECT_EQ(Str(*opened->Get(kJwtSigningKeyName)), "-----BEGIN PRIVATE KEY-----\njwt\n");
  EXPECT_EQ(*opened->Get(kTokenHmacKeyName), SecureBytes(32, 0x5a));
  EXPECT_EQ(opened->generation(), k.generation());
}

TEST(Keyring, WrongRootKeyIsDetected) {
  Result<SecureBytes> root = GenerateRootKey();
  Result<SecureBytes> wrong = GenerateRootKey();
  ASSERT_TRUE(root.ok() && wrong.ok());
  EXPECT_NE(*root, *wrong);
  Result<std::string> sealed = SealKeyring(*root, SampleKeyring());
  ASSERT_TRUE(sealed.ok());
  Result<Keyring> opened = OpenKeyring(*wrong, *sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kUnauthenticated);
  EXPECT_NE(opened.status().message().find("root key is wrong"), std::string::npos);
  EXPECT_EQ(OpenKeyring(SecureBytes(16, 0), *sealed).status().code(), Code::kInvalidArgument);
}

TEST(Keyring, SealedKeyringIsBoundToItsPurpose) {
  Result<SecureBytes> root = GenerateRootKey();
  ASSERT_TRUE(root.ok());
  Result<SecureBytes> enc = SampleKeyring().Encode();
  ASSERT_TRUE(enc.ok());
  // A blob sealed under the same key for another purpose does not open as a keyring.
  Result<std::string> other = Seal(*root, AsStringView(*enc), "rocksdr/something-else/v1");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(OpenKeyring(*root, *other).status().code(), Code::kUnauthenticated);
  // And the keyring's own AAD does open it.
  Result<std::string> same = Seal(*root, AsStringView(*enc), kKeyringAssociatedData);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(OpenKeyring(*root, *same).ok());
}

TEST(Keyring, TamperedSealedKeyringIsRefused) {
  Result<SecureBytes> root = GenerateRootKey();
  ASSERT_TRUE(root.ok());
  Result<std::string> sealed = SealKeyring(*root, SampleKeyring());
  ASSERT_TRUE(sealed.ok());
  std::string bad = *sealed;
  bad[bad.size() / 2] ^= 0x40;
  EXPECT_EQ(OpenKeyring(*root, bad).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(OpenKeyring(*root, "junk").status().code(), Code::kCorruption);
}

TEST(Keyring, AuthenticatedButMalformedIsCorruption) {
  Result<SecureBytes> root = GenerateRootKey();
  ASSERT_TRUE(root.ok());
  Result<std::string> sealed = Seal(*root, "not a keyring", kKeyringAssociatedData);
  ASSERT_TRUE(sealed.ok());
  Result<Keyring> opened = OpenKeyring(*root, *sealed);
  EXPECT_EQ(opened.status().code(), Code::kCorruption);
  EXPECT_NE(opened.status().message().find("authenticated but"), std::string::npos);
}

TEST(Keyring, MovedFromKeyringIsEmptyAndReusable) {
  Keyring k = SampleKeyring();
  uint64_t generation = k.generation();
  Keyring moved = std::move(k);
  EXPECT_EQ(moved.size(), 3u);
  EXPECT_EQ(moved.generation(), generation);
  EXPECT_TRUE(k.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(k.generation(), 0u);
  // Its value budget was reset with it: the largest possible set of values fits again.
  size_t n = kMaxKeyringValueBytes / kMaxKeySize;
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(k.Put("b" + std::to_string(i), SecureBytes(kMaxKeySize, 3)).ok());
}

TEST(Keyring, CloneIsIndependent) {
  Keyring k = SampleKeyring();
  Keyring c = k.Clone();
  ASSERT_TRUE(c.Put(kTokenHmacKeyName, SecureBytes(32, 0x11)).ok());
  EXPECT_EQ(*k.Get(kTokenHmacKeyName), SecureBytes(32, 0x5a));
  EXPECT_EQ(*c.Get(kTokenHmacKeyName), SecureBytes(32, 0x11));
}

}  // namespace
}  // namespace rocksdr::crypto
