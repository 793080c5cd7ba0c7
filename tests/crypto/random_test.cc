#include "rocksdr/crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <regex>
#include <set>
#include <string>

#include "rocksdr/crypto/encoding.h"

namespace rocksdr::crypto {
namespace {

TEST(RandomBytes, FillsBufferAndDiffersBetweenCalls) {
  std::array<uint8_t, 32> a{}, b{};
  ASSERT_TRUE(RandomBytes(a.data(), a.size()).ok());
  ASSERT_TRUE(RandomBytes(b.data(), b.size()).ok());
  // 2^-256 chance of a false failure.
  EXPECT_NE(a, b);
  std::array<uint8_t, 32> zero{};
  EXPECT_NE(a, zero);
}

TEST(RandomBytes, ZeroLengthIsOkAndOversizeIsRefused) {
  EXPECT_TRUE(RandomBytes(nullptr, 0).ok());
  std::array<uint8_t, 1> one{};
  Status s = RandomBytes(one.data(), kMaxRandomBytes + 1);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(RandomBytes(nullptr, 4).code(), Code::kInvalidArgument);
  auto r = RandomSecureBytes(kMaxRandomBytes + 1);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(RandomSecureBytes, ReturnsRequestedLength) {
  for (size_t n : {0u, 1u, 16u, 33u, 1000u}) {
    auto r = RandomSecureBytes(n);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->size(), n);
  }
}

TEST(RandomBase62, AlphabetLengthAndRoughUniformity) {
  auto r = RandomBase62(62 * 1000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 62u * 1000);
  EXPECT_TRUE(IsBase62(std::string_view(r->data(), r->size())));
  std::array<int, 256> counts{};
  for (char c : *r) counts[static_cast<unsigned char>(c)]++;
  int distinct = 0;
  for (int c : counts) {
    if (c == 0) continue;
    ++distinct;
    // Expected 1000 per symbol, sd ~31; 800..1200 is > 6 sd.
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
  EXPECT_EQ(distinct, 62);
  EXPECT_EQ(RandomBase62(0)->size(), 0u);
  EXPECT_FALSE(RandomBase62(kMaxRandomBytes + 1).ok());
}

TEST(RandomUuid, IsVersion4Format) {
  std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto u = RandomUuid();
    ASSERT_TRUE(u.ok());
    EXPECT_TRUE(std::regex_match(*u, re)) << *u;
    seen.insert(*u);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ConstantTimeEquals, ComparesLengthAndContent) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace rocksdr::crypto
