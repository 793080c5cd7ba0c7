#include "rocksdr/crypto/random.h"

#include <gtest/gtest.h>

#include <array>
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

// Matches xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx in lower-case hex. (No std::regex: GCC 12
// warns inside it under the sanitizers.)
bool IsUuidV4(const std::string& u) {
  if (u.size() != 36) return false;
  for (size_t i = 0; i < u.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (u[i] == '-')) return false;
    if (!dash && !((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'))) return false;
  }
  return u[14] == '4' && std::string_view("89ab").find(u[19]) != std::string_view::npos;
}

TEST(RandomUuid, IsVersion4Format) {
  EXPECT_TRUE(IsUuidV4("bab0ea36-23f6-4d1d-8ca6-a9c3673766a3"));
  EXPECT_FALSE(IsUuidV4("bab0ea36-23f6-d21d-4ca6-a9c3673766a3"));  // version nibble not 4
  EXPECT_FALSE(IsUuidV4("bab0ea36-23f6-4d1d-cca6-a9c3673766a3"));  // variant not 10xx
  EXPECT_FALSE(IsUuidV4("BAB0EA36-23F6-4D1D-8CA6-A9C3673766A3"));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto u = RandomUuid();
    ASSERT_TRUE(u.ok());
    EXPECT_TRUE(IsUuidV4(*u)) << *u;
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
