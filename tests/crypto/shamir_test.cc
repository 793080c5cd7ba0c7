#include "rocksdr/crypto/shamir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/gf256.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto::shamir {
namespace {

// ---- Reference field arithmetic, written differently from gf256.h on purpose: carry-less
// multiplication to a 15-bit product, then long division by the polynomial 0x11B.
uint8_t RefMul(uint8_t a, uint8_t b) {
  unsigned product = 0;
  for (int i = 0; i < 8; ++i) {
    if (b & (1 << i)) product ^= static_cast<unsigned>(a) << i;
  }
  for (int bit = 14; bit >= 8; --bit) {
    if (product & (1U << bit)) product ^= 0x11BU << (bit - 8);
  }
  return static_cast<uint8_t>(product);
}

uint8_t RefPow(uint8_t a, int e) {
  uint8_t r = 1;
  for (int i = 0; i < e; ++i) r = RefMul(r, a);
  return r;
}

// f(x) = intercept + sum_k coeffs[k] x^(k+1), evaluated term by term.
uint8_t RefEval(uint8_t intercept, const std::vector<uint8_t>& coeffs, uint8_t x) {
  uint8_t y = intercept;
  for (size_t k = 0; k < coeffs.size(); ++k) y ^= RefMul(coeffs[k], RefPow(x, static_cast<int>(k) + 1));
  return y;
}

std::string Str(const SecureBytes& b) { return std::string(AsStringView(b)); }

SecureBytes FromBase64(std::string_view b64) {
  auto r = Base64Decode(b64);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : SecureBytes{};
}

// Calls f on every subset of {0..n-1} of size k.
template <typename F>
void ForEachSubset(int n, int k, F f) {
  std::vector<bool> mask(static_cast<size_t>(n), false);
  std::fill(mask.begin(), mask.begin() + k, true);
  do {
    std::vector<int> idx;
    for (int i = 0; i < n; ++i) {
      if (mask[static_cast<size_t>(i)]) idx.push_back(i);
    }
    f(idx);
  } while (std::prev_permutation(mask.begin(), mask.end()));
}

std::vector<SecureBytes> Pick(const std::vector<SecureBytes>& all, const std::vector<int>& idx) {
  std::vector<SecureBytes> out;
  for (int i : idx) out.push_back(all[static_cast<size_t>(i)]);
  return out;
}

// ---- GF(2^8)

TEST(Gf256, VaultKnownAnswers) {
  // From Vault's shamir_test.go (TestField_Add / Mult / Divide).
  EXPECT_EQ(gf256::Add(16, 16), 0);
  EXPECT_EQ(gf256::Add(3, 4), 7);
  EXPECT_EQ(gf256::Mul(3, 7), 9);
  EXPECT_EQ(gf256::Mul(3, 0), 0);
  EXPECT_EQ(gf256::Mul(0, 3), 0);
  EXPECT_EQ(gf256::Div(0, 7), 0);
  EXPECT_EQ(gf256::Div(3, 3), 1);
  EXPECT_EQ(gf256::Div(6, 3), 2);
}

TEST(Gf256, AesKnownAnswers) {
  // FIPS-197 §4.2: {57} * {83} = {c1}, {57} * {13} = {fe}; the AES field inverse of {53} is {ca}.
  EXPECT_EQ(gf256::Mul(0x57, 0x83), 0xc1);
  EXPECT_EQ(gf256::Mul(0x57, 0x13), 0xfe);
  EXPECT_EQ(gf256::Inv(0x53), 0xca);
  EXPECT_EQ(gf256::Inv(0xca), 0x53);
}

TEST(Gf256, MulMatchesReferenceForAllPairs) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      ASSERT_EQ(gf256::Mul(static_cast<uint8_t>(a), static_cast<uint8_t>(b)),
                RefMul(static_cast<uint8_t>(a), static_cast<uint8_t>(b)))
          << a << " * " << b;
    }
  }
}

TEST(Gf256, InverseAndDivision) {
  EXPECT_EQ(gf256::Inv(0), 0);
  EXPECT_EQ(gf256::Inv(1), 1);
  std::set<uint8_t> inverses;
  for (int a = 1; a < 256; ++a) {
    uint8_t inv = gf256::Inv(static_cast<uint8_t>(a));
    EXPECT_EQ(RefMul(static_cast<uint8_t>(a), inv), 1) << a;
    EXPECT_EQ(inv, RefPow(static_cast<uint8_t>(a), 254)) << a;
    inverses.insert(inv);
    for (int b = 0; b < 256; b += 7) {
      uint8_t q = gf256::Div(static_cast<uint8_t>(b), static_cast<uint8_t>(a));
      EXPECT_EQ(RefMul(q, static_cast<uint8_t>(a)), b);
    }
  }
  EXPECT_EQ(inverses.size(), 255u);
}

// ---- Interoperability with Vault

// Shares produced by HashiCorp Vault's shamir package (github.com/hashicorp/vault/shamir), as
// printed in the README of a public Go command-line wrapper around it (base64 of each share).
// Split("I've never been to Spain.\n", parts=8, threshold=5):
const char* const kVaultSpainShares[] = {
    "jZYqqJaCxt4kZjh/xCAakXIG0XKdnlxY89/S", "1yubXvs8GdSqO8GPX9Xwk4fV22MJ/4F8wxh9",
    "fuVQmRhkVeKQGzpPVT0eNwvLXHxrQmQjFLGH", "Yggxmz2bmtTNPAX9ctHffwqsw4Ds8GZHDpa1",
    "Nyns0pAKCfeqLCrzxV+TpoJCvDJKTqJmR2kG", "a//rC1IRcRow60BY5SQV+6bZXLFbUxt221zy",
    "uB34M0pUB5vljgIfdItDHetEfKqxDQea6A93", "OUQe8CwZBHTbwt0Za/IRLUlLfB39smrEIEpt",
};
// Three shares of "Three can keep a secret if two are dead.\n" with threshold 2.
const char* const kVaultDeadShares[] = {
    "upOiLkD7A/va03FStBD+NV9feBlKooE8imH7JJ/CXbbV3pQ3EHxZCQ3z",
    "dfJ2ID7zuNNQY+Zqkqvhu2QCBzVLJyuxg4nzT0rSmYrrbR5RBQNPiOVD",
    "+p/3gvuk9sNTjR7UIOVJHi13ZoPvIm/jcBCkJm98tpKgdB1tqWIUK3yt",
};

TEST(ShamirVault, CombinesEveryThresholdSubsetOfVaultShares) {
  std::vector<SecureBytes> shares;
  for (const char* s : kVaultSpainShares) shares.push_back(FromBase64(s));
  const std::string secret = "I've never been to Spain.\n";
  int combos = 0;
  for (int k = 5; k <= 8; ++k) {
    ForEachSubset(8, k, [&](const std::vector<int>& idx) {
      auto r = Combine(Pick(shares, idx));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(Str(*r), secret);
      ++combos;
    });
  }
  EXPECT_EQ(combos, 56 + 28 + 8 + 1);
  // Below the threshold the result is not the secret.
  ForEachSubset(8, 4, [&](const std::vector<int>& idx) {
    auto r = Combine(Pick(shares, idx));
    ASSERT_TRUE(r.ok());
    EXPECT_NE(Str(*r), secret);
  });
}

TEST(ShamirVault, CombinesSecondVaultVector) {
  std::vector<SecureBytes> shares;
  for (const char* s : kVaultDeadShares) shares.push_back(FromBase64(s));
  const std::string secret = "Three can keep a secret if two are dead.\n";
  ForEachSubset(3, 2, [&](const std::vector<int>& idx) {
    auto r = Combine(Pick(shares, idx));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Str(*r), secret);
  });
  auto all = Combine(shares);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Str(*all), secret);
}

// A vector computed by hand from Vault's definition: secret byte 0x07, threshold 2, polynomial
// f(x) = 0x07 + 0x03 x, x coordinates 1 and 2.
//   f(1) = 0x07 ^ 0x03            = 0x04
//   f(2) = 0x07 ^ (0x03 * 0x02)   = 0x07 ^ 0x06 = 0x01   (no reduction: degree stays < 8)
// Shares are {y, x}: {0x04, 0x01} and {0x01, 0x02}.
TEST(ShamirVault, HandComputedVector) {
  auto shares = internal::SplitWithCoefficients("\x07", {1, 2}, 2, SecureBytes{0x03});
  ASSERT_TRUE(shares.ok()) << shares.status().ToString();
  ASSERT_EQ(shares->size(), 2u);
  EXPECT_EQ((*shares)[0], (SecureBytes{0x04, 0x01}));
  EXPECT_EQ((*shares)[1], (SecureBytes{0x01, 0x02}));
  auto back = Combine({SecureBytes{0x01, 0x02}, SecureBytes{0x04, 0x01}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, SecureBytes{0x07});
}

// Fixed polynomials and x coordinates: every share byte must equal the reference evaluation,
// every threshold subset must recombine, and fewer shares must not.
TEST(ShamirVault, FixedPolynomialsMatchReferenceEvaluation) {
  const std::string secret("\x00\x42\xff\x80\x01rocksdr", 12);
  const std::vector<uint8_t> xs = {0x01, 0x02, 0x80, 0xfe, 0xff, 0x53};
  const int threshold = 4;
  SecureBytes coeffs;
  for (size_t b = 0; b < secret.size(); ++b) {
    for (int k = 0; k < threshold - 1; ++k) coeffs.push_back(static_cast<uint8_t>(b * 37 + k * 101 + 5));
  }
  auto shares = internal::SplitWithCoefficients(secret, xs, threshold, coeffs);
  ASSERT_TRUE(shares.ok()) << shares.status().ToString();
  ASSERT_EQ(shares->size(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    const SecureBytes& s = (*shares)[i];
    ASSERT_EQ(s.size(), secret.size() + kShareOverhead);
    EXPECT_EQ(s.back(), xs[i]);
    for (size_t b = 0; b < secret.size(); ++b) {
      std::vector<uint8_t> c(coeffs.begin() + static_cast<long>(b * 3), coeffs.begin() + static_cast<long>(b * 3 + 3));
      EXPECT_EQ(s[b], RefEval(static_cast<uint8_t>(secret[b]), c, xs[i])) << "share " << i << " byte " << b;
    }
  }
  for (int k = threshold; k <= 6; ++k) {
    ForEachSubset(6, k, [&](const std::vector<int>& idx) {
      auto r = Combine(Pick(*shares, idx));
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(Str(*r), secret);
    });
  }
  ForEachSubset(6, threshold - 1, [&](const std::vector<int>& idx) {
    auto r = Combine(Pick(*shares, idx));
    ASSERT_TRUE(r.ok());
    EXPECT_NE(Str(*r), secret);
  });
}

TEST(ShamirVault, SplitWithCoefficientsValidates) {
  EXPECT_FALSE(internal::SplitWithCoefficients("a", {1, 1}, 2, SecureBytes{1}).ok());
  EXPECT_FALSE(internal::SplitWithCoefficients("a", {0, 1}, 2, SecureBytes{1}).ok());
  EXPECT_FALSE(internal::SplitWithCoefficients("a", {1, 2}, 2, SecureBytes{1, 2}).ok());
  EXPECT_FALSE(internal::SplitWithCoefficients("", {1, 2}, 2, SecureBytes{}).ok());
}

// ---- Split / Combine with randomness

TEST(Shamir, SplitShapeAndEveryThresholdSubset) {
  auto key = RandomSecureBytes(32);
  ASSERT_TRUE(key.ok());
  const std::string secret = Str(*key);
  auto shares = Split(secret, 5, 3);
  ASSERT_TRUE(shares.ok()) << shares.status().ToString();
  ASSERT_EQ(shares->size(), 5u);
  std::set<uint8_t> xs;
  for (const SecureBytes& s : *shares) {
    ASSERT_EQ(s.size(), 33u);
    EXPECT_NE(s.back(), 0);
    xs.insert(s.back());
  }
  EXPECT_EQ(xs.size(), 5u);
  for (int k = 3; k <= 5; ++k) {
    ForEachSubset(5, k, [&](const std::vector<int>& idx) {
      auto sub = Pick(*shares, idx);
      std::reverse(sub.begin(), sub.end());  // order must not matter
      auto r = Combine(sub);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(Str(*r), secret);
    });
  }
  ForEachSubset(5, 2, [&](const std::vector<int>& idx) {
    auto r = Combine(Pick(*shares, idx));
    ASSERT_TRUE(r.ok());
    EXPECT_NE(Str(*r), secret);
  });
}

TEST(Shamir, RoundTripsManyShapes) {
  for (int parts : {2, 3, 7, 20}) {
    for (int threshold = 2; threshold <= parts; threshold += 3) {
      for (size_t len : {1u, 2u, 31u, 100u}) {
        auto sb = RandomSecureBytes(len);
        ASSERT_TRUE(sb.ok());
        auto shares = Split(AsStringView(*sb), parts, threshold);
        ASSERT_TRUE(shares.ok());
        std::vector<SecureBytes> first(shares->begin(), shares->begin() + threshold);
        auto r = Combine(first);
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(*r, *sb) << parts << "/" << threshold << "/" << len;
        std::vector<SecureBytes> last(shares->end() - threshold, shares->end());
        EXPECT_EQ(*Combine(last), *sb);
      }
    }
  }
}

TEST(Shamir, MaximumParametersAndSizes) {
  auto shares = Split("sixteen byte key", 255, 255);
  ASSERT_TRUE(shares.ok());
  std::set<uint8_t> xs;
  for (const auto& s : *shares) xs.insert(s.back());
  EXPECT_EQ(xs.size(), 255u);
  EXPECT_EQ(xs.count(0), 0u);
  EXPECT_EQ(Str(*Combine(*shares)), "sixteen byte key");

  std::string big(kMaxSecretBytes, 'k');
  big[12345] = 'x';
  auto big_shares = Split(big, 3, 2);
  ASSERT_TRUE(big_shares.ok());
  std::vector<SecureBytes> two(big_shares->begin() + 1, big_shares->end());
  EXPECT_EQ(Str(*Combine(two)), big);
  auto too_big = Split(big + "!", 3, 2);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.status().message().find("exceeds the limit"), std::string::npos);
}

TEST(Shamir, XCoordinatesAreRandomAndCoverTheRange) {
  std::vector<int> counts(256, 0);
  const int kSplits = 2000;
  std::set<std::string> first_shares;
  for (int i = 0; i < kSplits; ++i) {
    auto shares = Split("k", 5, 2);
    ASSERT_TRUE(shares.ok());
    for (const auto& s : *shares) counts[s.back()]++;
    first_shares.insert(Str((*shares)[0]));
  }
  EXPECT_EQ(counts[0], 0);
  // Each of 1..255 is expected 2000*5/255 ~ 39 times; 10..80 is far outside chance.
  for (int x = 1; x < 256; ++x) {
    EXPECT_GT(counts[static_cast<size_t>(x)], 10) << x;
    EXPECT_LT(counts[static_cast<size_t>(x)], 80) << x;
  }
  // Polynomials and xs differ between splits: many distinct first shares (65536 possible).
  EXPECT_GT(first_shares.size(), 1900u);
}

TEST(Shamir, WrongShareGivesWrongSecret) {
  const std::string secret = "the root key of the primary.....";
  auto shares = Split(secret, 3, 3);
  ASSERT_TRUE(shares.ok());
  std::vector<SecureBytes> bad = *shares;
  bad[1][7] ^= 0x01;  // corrupt one y byte
  auto r = Combine(bad);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(Str(*r), secret);
  // Only byte 7 is affected: each byte has its own polynomial.
  for (size_t b = 0; b < secret.size(); ++b) {
    if (b == 7) {
      EXPECT_NE((*r)[b], static_cast<uint8_t>(secret[b]));
    } else {
      EXPECT_EQ((*r)[b], static_cast<uint8_t>(secret[b]));
    }
  }
  // A share of another split of the same secret does not combine to it either (xs differ or
  // polynomials differ).
  auto other = Split(secret, 3, 3);
  ASSERT_TRUE(other.ok());
  std::vector<SecureBytes> mixed = {(*shares)[0], (*shares)[1], (*other)[2]};
  auto m = Combine(mixed);
  if (m.ok()) EXPECT_NE(Str(*m), secret);
  else EXPECT_EQ(m.status().message(), "duplicate part detected");
}

TEST(Shamir, SplitErrorsAreVaults) {
  struct Case {
    size_t len;
    int parts, threshold;
    const char* message;
  } kCases[] = {
      {4, 2, 3, "parts cannot be less than threshold"},
      {4, 0, 0, "threshold must be at least 2"},
      {4, 1000, 3, "parts cannot exceed 255"},
      {4, 256, 256, "parts cannot exceed 255"},
      {4, 10, 1, "threshold must be at least 2"},
      {4, -1, -5, "threshold must be at least 2"},
      {0, 3, 2, "cannot split an empty secret"},
  };
  for (const auto& c : kCases) {
    auto r = Split(std::string(c.len, 's'), c.parts, c.threshold);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message) << c.parts << "/" << c.threshold;
  }
}

TEST(Shamir, CombineErrorsAreVaults) {
  auto msg = [](const std::vector<SecureBytes>& parts) { return Combine(parts).status().message(); };
  EXPECT_EQ(msg({}), "less than two parts cannot be used to reconstruct the secret");
  EXPECT_EQ(msg({ToSecureBytes("foo")}), "less than two parts cannot be used to reconstruct the secret");
  EXPECT_EQ(msg({ToSecureBytes("foo"), ToSecureBytes("ba")}), "all parts must be the same length");
  EXPECT_EQ(msg({ToSecureBytes("f"), ToSecureBytes("b")}), "parts must be at least two bytes");
  EXPECT_EQ(msg({ToSecureBytes("foo"), ToSecureBytes("foo")}), "duplicate part detected");
  EXPECT_EQ(msg({ToSecureBytes("fox"), ToSecureBytes("bar"), ToSecureBytes("tax")}), "duplicate part detected");
  std::vector<SecureBytes> many;
  for (int i = 0; i < 256; ++i) many.push_back(SecureBytes{1, static_cast<uint8_t>(i)});
  EXPECT_NE(msg(many).find("more than 255 parts"), std::string::npos);
  EXPECT_NE(msg({SecureBytes(kMaxSecretBytes + 2, 1), SecureBytes(kMaxSecretBytes + 2, 2)}).find("at most"),
            std::string::npos);
}

}  // namespace
}  // namespace rocksdr::crypto::shamir
