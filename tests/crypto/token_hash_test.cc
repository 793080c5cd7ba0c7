#include "rocksdr/crypto/token_hash.h"

#include <gtest/gtest.h>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

TEST(TokenHash, MatchesRfc4231TestCase7) {
  // RFC 4231 test case 7's key is 131 bytes of 0xaa; its HMAC-SHA256 of the given text is known.
  SecureBytes key(131, 0xaa);
  std::string data =
      "This is a test using a larger than block-size key and a larger than block-size data. The "
      "key needs to be hashed before being used by the HMAC algorithm.";
  EXPECT_EQ(HashToken(key, data),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(TokenHash, DeterministicAndKeyed) {
  Result<SecureBytes> k1 = RandomSecureBytes(32);
  Result<SecureBytes> k2 = RandomSecureBytes(32);
  ASSERT_TRUE(k1.ok() && k2.ok());
  std::string h = HashToken(*k1, "hvs.abcdefghijklmnopqrstuvwx");
  EXPECT_EQ(h.size(), kTokenHashSize);
  EXPECT_TRUE(IsTokenHash(h));
  EXPECT_EQ(h, HashToken(*k1, "hvs.abcdefghijklmnopqrstuvwx"));
  EXPECT_NE(h, HashToken(*k2, "hvs.abcdefghijklmnopqrstuvwx"));
  EXPECT_NE(h, HashToken(*k1, "hvs.abcdefghijklmnopqrstuvwy"));
  EXPECT_EQ(h.find("abcdefghijklmnop"), std::string::npos);
}

TEST(TokenHash, VerifyAcceptsOnlyTheRightToken) {
  Result<SecureBytes> key = RandomSecureBytes(32);
  ASSERT_TRUE(key.ok());
  std::string stored = HashToken(*key, "s.root-token");
  EXPECT_TRUE(VerifyTokenHash(*key, "s.root-token", stored));
  EXPECT_FALSE(VerifyTokenHash(*key, "s.root-tokeN", stored));
  EXPECT_FALSE(VerifyTokenHash(*key, "", stored));
  Result<SecureBytes> other = RandomSecureBytes(32);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifyTokenHash(*other, "s.root-token", stored));
  // Malformed stored hashes never verify.
  EXPECT_FALSE(VerifyTokenHash(*key, "s.root-token", ""));
  EXPECT_FALSE(VerifyTokenHash(*key, "s.root-token", stored.substr(1)));
  std::string upper = stored;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != stored) {
    EXPECT_FALSE(VerifyTokenHash(*key, "s.root-token", upper));
  }
}

TEST(TokenHash, ShortKeyGivesNoHashAndNeverVerifies) {
  SecureBytes short_key(31, 7);
  EXPECT_EQ(HashToken(short_key, "token"), "");
  EXPECT_FALSE(VerifyTokenHash(short_key, "token", ""));
  EXPECT_FALSE(VerifyTokenHash(SecureBytes{}, "token", std::string(64, '0')));
}

TEST(TokenHash, IsTokenHashChecksForm) {
  EXPECT_TRUE(IsTokenHash(std::string(64, 'a')));
  EXPECT_FALSE(IsTokenHash(std::string(63, 'a')));
  EXPECT_FALSE(IsTokenHash(std::string(64, 'g')));
  EXPECT_FALSE(IsTokenHash(std::string(64, 'A')));
}

}  // namespace
}  // namespace rocksdr::crypto
