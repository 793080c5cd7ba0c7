#include "rocksdr/crypto/otp.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "rocksdr/crypto/encoding.h"

namespace rocksdr::crypto {
namespace {

std::string S(const SecureString& s) { return std::string(s.data(), s.size()); }

TEST(Otp, GenerateTokenShape) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto t = GenerateToken();
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t->size(), kTokenLength);
    EXPECT_EQ(S(*t).substr(0, 4), "rdr.");
    EXPECT_TRUE(IsBase62(S(*t).substr(4)));
    seen.insert(S(*t));
  }
  EXPECT_EQ(seen.size(), 200u);
  auto hvs = GenerateToken("hvs.");
  ASSERT_TRUE(hvs.ok());
  EXPECT_EQ(S(*hvs).substr(0, 4), "hvs.");
}

TEST(Otp, GenerateTokenRejectsBadPrefix) {
  const std::string_view kBad[] = {"", "rdr", "rdr..", "rd r", std::string_view("rd\0.", 4), "rd\n.", "rd\x80."};
  for (std::string_view p : kBad) {
    auto t = GenerateToken(p);
    ASSERT_FALSE(t.ok()) << p;
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
    EXPECT_NE(t.status().message().find("token prefix"), std::string::npos);
  }
}

TEST(Otp, GenerateOtpShapeAndBounds) {
  auto o = GenerateOtp();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->size(), kTokenLength);
  EXPECT_TRUE(IsBase62(S(*o)));
  EXPECT_NE(S(*o), S(*GenerateOtp()));
  EXPECT_EQ(GenerateOtp(1)->size(), 1u);
  EXPECT_EQ(GenerateOtp(kMaxOtpLength)->size(), kMaxOtpLength);
  EXPECT_FALSE(GenerateOtp(0).ok());
  EXPECT_FALSE(GenerateOtp(kMaxOtpLength + 1).ok());
}

// Known answers computed by hand from the definition base64raw(otp XOR token). Upper-case and
// lower-case ASCII letters differ only in bit 0x20, so "ABC" XOR "abc" = 20 20 20, whose base64
// is "ICAg"; '.' XOR '.' = 0x00.
TEST(Otp, EncodeKnownAnswer) {
  // 3 bytes 0x20 0x20 0x20 -> base64 "ICAg"; a short pair checks the unpadded tail too.
  auto e3 = EncodeToken("ABC", "abc");
  ASSERT_TRUE(e3.ok());
  EXPECT_EQ(*e3, "ICAg");
  // 1 byte 0x20 -> "IA" (Go RawStdEncoding drops the "==").
  EXPECT_EQ(*EncodeToken("A", "a"), "IA");
  // 2 bytes 0x20 0x00 -> "IAA" (no "=").
  EXPECT_EQ(*EncodeToken("A.", "a."), "IAA");

  const std::string token = "rdr.ABCDEFGHIJKLMNOPQRSTUVWX";
  const std::string otp = "xyz0abcdefghijklmnopqrstuvwx";
  ASSERT_EQ(token.size(), kTokenLength);
  ASSERT_EQ(otp.size(), kTokenLength);
  std::string x;
  for (size_t i = 0; i < token.size(); ++i) x.push_back(static_cast<char>(token[i] ^ otp[i]));
  // 'r'^'x'=0x0a, 'd'^'y'=0x1d, 'r'^'z'=0x08, '.'^'0'=0x1e, then 24 x 0x20.
  EXPECT_EQ(x, std::string("\x0a\x1d\x08\x1e") + std::string(24, ' '));
  auto enc = EncodeToken(token, otp);
  ASSERT_TRUE(enc.ok());
  // 28 bytes = 9 groups of 3 + 1: 0a1d08 -> "Ch0I", 1e2020 -> "HiAg", 7 x (202020 -> "ICAg"),
  // and the last 0x20 -> "IA" without padding.
  std::string expected = "Ch0IHiAg";
  for (int i = 0; i < 7; ++i) expected += "ICAg";
  expected += "IA";
  EXPECT_EQ(*enc, expected);
  EXPECT_EQ(enc->find('='), std::string::npos);
  auto dec = DecodeToken(*enc, otp);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(S(*dec), token);
}

TEST(Otp, RoundTripWithGeneratedValues) {
  for (int i = 0; i < 100; ++i) {
    auto token = GenerateToken();
    auto otp = GenerateOtp();
    ASSERT_TRUE(token.ok() && otp.ok());
    auto enc = EncodeToken(S(*token), S(*otp));
    ASSERT_TRUE(enc.ok());
    EXPECT_NE(*enc, S(*token));
    EXPECT_NE(*enc, S(*otp));
    auto dec = DecodeToken(*enc, S(*otp));
    ASSERT_TRUE(dec.ok());
    EXPECT_EQ(S(*dec), S(*token));
    // A different OTP of the same length decodes to something else (never an error).
    auto other = GenerateOtp();
    auto wrong = DecodeToken(*enc, S(*other));
    ASSERT_TRUE(wrong.ok());
    EXPECT_NE(S(*wrong), S(*token));
  }
}

TEST(Otp, EncodeErrors) {
  EXPECT_EQ(EncodeToken("", "").status().message(), "no token provided");
  EXPECT_EQ(EncodeToken("tok", "").status().message(), "no otp provided");
  EXPECT_EQ(EncodeToken("someToken", "0123456789").status().message(),
            "xor of root token failed: length of byte slices is not equivalent: 10 != 9");
  EXPECT_FALSE(EncodeToken(std::string(kMaxOtpLength + 1, 't'), std::string(kMaxOtpLength + 1, 'o')).ok());
}

TEST(Otp, DecodeErrorsDoNotEchoSecrets) {
  const std::string otp = "abcdefghijklmnopqrstuvwxyzAB";
  auto enc = EncodeToken("rdr.ABCDEFGHIJKLMNOPQRSTUVWX", otp);
  ASSERT_TRUE(enc.ok());

  auto shorter = DecodeToken(*enc, otp.substr(0, 27));
  ASSERT_FALSE(shorter.ok());
  EXPECT_EQ(shorter.status().message(), "error xoring token: length of byte slices is not equivalent: 28 != 27");

  auto padded = DecodeToken(*enc + "==", otp);
  ASSERT_FALSE(padded.ok());
  EXPECT_NE(padded.status().message().find("error decoding base64'd token"), std::string::npos);

  std::string bad = *enc;
  bad[5] = '!';
  auto badchar = DecodeToken(bad, otp);
  ASSERT_FALSE(badchar.ok());
  EXPECT_EQ(badchar.status().message(),
            "error decoding base64'd token: base64 input has an invalid character at position 5");

  auto truncated = DecodeToken(enc->substr(0, enc->size() - 1), otp);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(DecodeToken("", otp).status().message(), "no encoded token provided");
  EXPECT_EQ(DecodeToken(*enc, "").status().message(), "no otp provided");
  EXPECT_FALSE(DecodeToken(std::string(kMaxEncodedTokenLength + 4, 'A'), otp).ok());

  for (const auto& r : {shorter, padded, badchar, truncated}) {
    EXPECT_EQ(r.status().message().find(otp), std::string::npos);
    EXPECT_EQ(r.status().message().find(*enc), std::string::npos);
  }
}

}  // namespace
}  // namespace rocksdr::crypto
