#include "rocksdr/crypto/encoding.h"

#include <gtest/gtest.h>

#include <string>

#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

std::string Str(const SecureBytes& b) { return std::string(AsStringView(b)); }

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> kVectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto d = Base64Decode(encoded);
    ASSERT_TRUE(d.ok()) << encoded << ": " << d.status().ToString();
    EXPECT_EQ(Str(*d), plain);
    // Raw (unpadded) form: same without '='.
    std::string raw(encoded);
    raw.erase(raw.find_last_not_of('=') + 1);
    EXPECT_EQ(Base64Encode(plain, /*padded=*/false), raw);
    auto r = Base64Decode(raw, /*padded=*/false);
    ASSERT_TRUE(r.ok()) << raw;
    EXPECT_EQ(Str(*r), plain);
  }
}

TEST(Base64, AllByteValuesRoundTripInBothAlphabets) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); len += 17) {
    std::string in = all.substr(0, len) + all.substr(256 - len % 7);
    EXPECT_EQ(Str(*Base64Decode(Base64Encode(in))), in);
    EXPECT_EQ(Str(*Base64Decode(Base64Encode(in, false), false)), in);
    EXPECT_EQ(Str(*Base64UrlDecode(Base64UrlEncode(in))), in);
  }
  // 0xfb 0xff encodes to the alphabet-specific characters.
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Str(*Base64UrlDecode("-_8")), "\xfb\xff");
}

TEST(Base64, RejectsMalformedInputWithoutEchoingIt) {
  struct Case {
    const char* text;
    bool padded;
    const char* needle;
  } kCases[] = {
      {"Zm9", true, "multiple of 4"},
      {"Zm9vY", false, "impossible length"},
      {"Zm9v!mFy", true, "invalid character at position 4"},
      {"Zm9v YmFy", false, "invalid character at position 4"},
      {"Zg==", false, "unpadded"},          // padding not allowed in raw form
      {"Z===", true, "impossible length"},
      {"Zm9vYg=", true, "multiple of 4"},
      {"Zg======", true, "wrong padding"},
      {"Zm9v====", true, "wrong padding"},
      {"Zm=v", true, "padding '=' at position 2"},
      {"Zh==", true, "not canonical"},      // 'h' leaves non-zero unused bits
      {"Zm9vYmFy\n", false, "invalid character at position 8"},
      {"-_8=", true, "invalid character at position 0"},  // URL alphabet in standard decoder
  };
  for (const auto& c : kCases) {
    auto r = Base64Decode(c.text, c.padded);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.text << " -> " << r.status().message();
    EXPECT_EQ(r.status().message().find(c.text), std::string::npos) << "message echoes the input";
  }
  EXPECT_FALSE(Base64UrlDecode("+/8").ok());
  EXPECT_FALSE(Base64UrlDecode("-_8=").ok());
}

TEST(Base64, EnforcesMaxInput) {
  std::string big(100, 'A');
  EXPECT_TRUE(Base64Decode(big, true, 100).ok());
  auto r = Base64Decode(big, true, 99);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("limit of 99"), std::string::npos);
  EXPECT_FALSE(Base64UrlDecode(big, 10).ok());
  EXPECT_FALSE(Base64Decode(std::string(kDefaultMaxEncodedInput + 4, 'A')).ok());
}

TEST(Hex, EncodeDecode) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
  EXPECT_EQ(Str(*HexDecode("00017F80abFF")), std::string("\x00\x01\x7f\x80\xab\xff", 6));
  auto rnd = RandomSecureBytes(257);
  ASSERT_TRUE(rnd.ok());
  std::string s = Str(*rnd);
  EXPECT_EQ(Str(*HexDecode(HexEncode(s))), s);
}

TEST(Hex, RejectsMalformed) {
  auto odd = HexDecode("abc");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("odd length"), std::string::npos);
  auto bad = HexDecode("00g0");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("position 2"), std::string::npos);
  auto bad2 = HexDecode("000:");
  ASSERT_FALSE(bad2.ok());
  EXPECT_NE(bad2.status().message().find("position 3"), std::string::npos);
  EXPECT_FALSE(HexDecode("0x00").ok());
  EXPECT_FALSE(HexDecode("0000", 3).ok());
}

TEST(IsBase62, AcceptsOnlyAlphanumerics) {
  EXPECT_TRUE(IsBase62(""));
  EXPECT_TRUE(IsBase62("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"));
  for (char c : std::string("+/-_=. \n@[`{/:\x80\xff")) {
    EXPECT_FALSE(IsBase62(std::string("ab") + c)) << int(c);
  }
}

}  // namespace
}  // namespace rocksdr::crypto
