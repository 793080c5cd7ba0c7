// Tests of ES512 JWS/JWT signing and strict verification, and of DR activation tokens.
#include "rocksdr/crypto/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "rocksdr/crypto/encoding.h"
#include "support/rfc7515_a4.h"

namespace rocksdr::crypto {
namespace {

namespace a4 = ::rocksdr::testing::rfc7515_a4;
using nlohmann::json;

constexpr int64_t kNow = 1700000000;  // 2023-11-14T22:13:20Z

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lower-case hex. (No std::regex: it trips
// g++ 12's -Wmaybe-uninitialized under ASan.)
bool IsUuidV4(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

std::string B64(std::string_view s) { return Base64UrlEncode(s); }

std::string Decoded(std::string_view b64) {
  Result<SecureBytes> raw = Base64UrlDecode(b64);
  EXPECT_TRUE(raw.ok()) << raw.status().ToString();
  return raw.ok() ? std::string(AsStringView(*raw)) : std::string();
}

std::vector<std::string> Split(std::string_view token) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = token.find('.', start);
    parts.emplace_back(token.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

// DER ECDSA-Sig over `input` with SHA-512, straight from OpenSSL (independent of jwt.cc).
std::string DerSign(const EcPrivateKey& key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestSignInit_ex(ctx, nullptr, "SHA512", nullptr, nullptr, key.pkey(), nullptr), 1);
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EXPECT_EQ(EVP_DigestSign(ctx, nullptr, &len, in, input.size()), 1);
  std::string der(len, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len, in, input.size()), 1);
  der.resize(len);
  EVP_MD_CTX_free(ctx);
  return der;
}

// The same signature as RFC 7518 R || S (again independent of jwt.cc).
std::string RawSign(const EcPrivateKey& key, std::string_view input) {
  std::string der = DerSign(key, input);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));  // NOLINT(runtime/int)
  EXPECT_NE(sig, nullptr);
  std::string raw(132, '\0');
  auto* o = reinterpret_cast<unsigned char*>(raw.data());
  EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_r(sig), o, 66), 66);
  EXPECT_EQ(BN_bn2binpad(ECDSA_SIG_get0_s(sig), o + 66, 66), 66);
  ECDSA_SIG_free(sig);
  return raw;
}

// A token with arbitrary header and payload, correctly signed with `key`, so that a refusal
// can only come from the check under test and never from the signature.
std::string ForgeSigned(const EcPrivateKey& key, std::string_view header_json, std::string_view payload) {
  std::string input = B64(header_json) + "." + B64(payload);
  return input + "." + B64(RawSign(key, input));
}

// Asserts a refusal: code, a phrase of the message, and that the message does not echo the token.
void ExpectRefused(const Status& s, Code code, std::string_view phrase, std::string_view token) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(phrase), std::string::npos) << "message: " << s.message() << "\nexpected: " << phrase;
  if (!token.empty()) {
    EXPECT_EQ(s.message().find(token), std::string::npos) << s.message();
  }
  for (const std::string& part : Split(token)) {
    if (part.size() >= 12) {
      EXPECT_EQ(s.message().find(part), std::string::npos) << s.message();
    }
  }
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = EcPrivateKey::Generate();
    ASSERT_TRUE(k.ok());
    key_.emplace(std::move(*k));
    auto p = key_->PublicKey();
    ASSERT_TRUE(p.ok());
    pub_.emplace(std::move(*p));
    auto o = EcPrivateKey::Generate();
    ASSERT_TRUE(o.ok());
    other_pub_.emplace(std::move(*o->PublicKey()));
  }

  JwtVerifyOptions Opts(int64_t now = kNow, int64_t skew = 30) {
    JwtVerifyOptions o;
    o.now = now;
    o.clock_skew_seconds = skew;
    return o;
  }

  ActivationClaims Claims(int64_t now = kNow, int64_t ttl = 1800) {
    auto c = NewActivationClaims("https://primary.example.com:8200", "accessor-1234", now, ttl);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return *c;
  }

  json ClaimsJson(const ActivationClaims& c) {
    return json{{"accessor", c.accessor}, {"addr", c.addr}, {"exp", c.exp}, {"iat", c.iat},
                {"jti", c.jti},           {"nbf", c.nbf},   {"type", c.type}};
  }

  std::optional<EcPrivateKey> key_;
  std::optional<EcPublicKey> pub_;
  std::optional<EcPublicKey> other_pub_;
};

// ---- Known answer: RFC 7515 Appendix A.4 ----

TEST(JwsKnownAnswer, Rfc7515A4VerifiesWithItsPublicKey) {
  Result<EcPublicKey> from_jwk = EcPublicKey::FromJwk(a4::kX, a4::kY);
  ASSERT_TRUE(from_jwk.ok()) << from_jwk.status().ToString();
  Result<std::string> payload = VerifyJws(a4::kJws, *from_jwk);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(*payload, a4::kPayload);

  Result<EcPublicKey> from_pem = EcPublicKey::FromPem(a4::kPublicPem);
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(*VerifyJws(a4::kJws, *from_pem), a4::kPayload);
}

TEST(JwsKnownAnswer, Rfc7515A4AlteredFailsAndOtherKeyFails) {
  Result<EcPublicKey> pub = EcPublicKey::FromJwk(a4::kX, a4::kY);
  ASSERT_TRUE(pub.ok());
  // Payload "Payloae" instead of "Payload".
  std::string altered(a4::kJws);
  altered.replace(altered.find("UGF5bG9hZA"), 10, B64("Payloae"));
  ExpectRefused(VerifyJws(altered, *pub).status(), Code::kUnauthenticated, "does not verify", altered);

  Result<EcPrivateKey> other = EcPrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  ExpectRefused(VerifyJws(a4::kJws, *other->PublicKey()).status(), Code::kUnauthenticated, "does not verify",
                a4::kJws);
}

TEST(JwsKnownAnswer, SignWithRfc7515A4KeyVerifiesWithItsPublicKey) {
  Result<EcPrivateKey> priv = EcPrivateKey::FromJwk(a4::kX, a4::kY, a4::kD);
  ASSERT_TRUE(priv.ok());
  Result<std::string> token = SignJws(*priv, R"({"alg":"ES512"})", "Payload");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  // Same header and payload encoding as the RFC; ECDSA is randomized, so the signature differs.
  EXPECT_EQ(token->substr(0, token->rfind('.')), "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA");
  EXPECT_NE(*token, a4::kJws);
  Result<EcPublicKey> pub = EcPublicKey::FromJwk(a4::kX, a4::kY);
  EXPECT_EQ(*VerifyJws(*token, *pub), "Payload");
}

// ---- Signing format ----

TEST_F(JwtTest, SignJwtWritesTheExactHeaderAndA132ByteSignature) {
  Result<std::string> token = SignJwt(*key_, json{{"sub", "x"}});
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  std::vector<std::string> parts = Split(*token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "eyJhbGciOiJFUzUxMiIsInR5cCI6IkpXVCJ9");
  EXPECT_EQ(Decoded(parts[0]), R"({"alg":"ES512","typ":"JWT"})");
  EXPECT_EQ(Decoded(parts[1]), R"({"sub":"x"})");
  EXPECT_EQ(Decoded(parts[2]).size(), 132u);
  EXPECT_EQ(token->find_first_of("+/="), std::string::npos);  // base64url, unpadded

  // The R || S signature is the one an independent verifier (OpenSSL on the DER form) accepts.
  std::string raw = Decoded(parts[2]);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ASSERT_EQ(ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 66, nullptr),
                           BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 66, 66, nullptr)),
            1);
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  ASSERT_GT(der_len, 0);
  std::string input = parts[0] + "." + parts[1];
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit_ex(ctx, nullptr, "SHA512", nullptr, nullptr, pub_->pkey(), nullptr), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, der, static_cast<size_t>(der_len),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
}

TEST_F(JwtTest, SignRefusesNonObjectsBadUtf8NonEs512HeadersAndOversizedClaims) {
  EXPECT_EQ(SignJwt(*key_, json::array({1, 2})).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SignJwt(*key_, json("x")).status().code(), Code::kInvalidArgument);
  Result<std::string> bad_utf8 = SignJwt(*key_, json{{"addr", std::string("\xff\xfe")}});
  ExpectRefused(bad_utf8.status(), Code::kInvalidArgument, "UTF-8", "");
  ExpectRefused(SignJws(*key_, R"({"alg":"none"})", "x").status(), Code::kInvalidArgument, "\"none\"", "");
  ExpectRefused(SignJws(*key_, R"({"alg":"HS256"})", "x").status(), Code::kInvalidArgument, "\"HS256\"", "");
  Result<std::string> big = SignJwt(*key_, json{{"pad", std::string(7000, 'a')}});
  ExpectRefused(big.status(), Code::kInvalidArgument, "larger than 8192", "");
  // Just under the bound is fine, and verifies.
  Result<std::string> fits = SignJwt(*key_, json{{"exp", kNow + 60}, {"pad", std::string(5800, 'a')}});
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_LE(fits->size(), kMaxJwtSize);
  EXPECT_TRUE(VerifyJwt(*fits, *pub_, Opts()).ok());
}

// ---- Round trip and tampering ----

TEST_F(JwtTest, RoundTripReturnsTheClaims) {
  json claims{{"exp", kNow + 60}, {"iat", kNow}, {"nbf", kNow - 5}, {"type", "wrapping"}, {"n", 7}};
  Result<std::string> token = SignJwt(*key_, claims);
  ASSERT_TRUE(token.ok());
  JwtVerifyOptions opts = Opts();
  opts.required_type = "wrapping";
  Result<json> got = VerifyJwt(*token, *pub_, opts);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, claims);
  // Interoperability: a token signed by an independent R || S signer verifies too.
  std::string forged_ok = ForgeSigned(*key_, kEs512JwtHeader, claims.dump());
  EXPECT_TRUE(VerifyJwt(forged_ok, *pub_, opts).ok());
}

TEST_F(JwtTest, TamperedHeaderPayloadOrSignatureIsUnauthenticated) {
  Result<std::string> token = SignJwt(*key_, json{{"exp", kNow + 60}, {"addr", "https://a:8200"}});
  ASSERT_TRUE(token.ok());
  std::vector<std::string> p = Split(*token);

  std::string payload = B64(json{{"exp", kNow + 60}, {"addr", "https://evil:8200"}}.dump());
  std::string t1 = p[0] + "." + payload + "." + p[2];
  ExpectRefused(VerifyJwt(t1, *pub_, Opts()).status(), Code::kUnauthenticated, "does not verify", t1);

  std::string header = B64(R"({"alg":"ES512","typ":"JWT","kid":"x"})");
  std::string t2 = header + "." + p[1] + "." + p[2];
  ExpectRefused(VerifyJwt(t2, *pub_, Opts()).status(), Code::kUnauthenticated, "does not verify", t2);

  // Flip one bit in the low byte of S (stays in range, so only the signature check can catch it).
  std::string sig = Decoded(p[2]);
  sig[131] = static_cast<char>(sig[131] ^ 0x01);
  std::string t3 = p[0] + "." + p[1] + "." + B64(sig);
  ExpectRefused(VerifyJwt(t3, *pub_, Opts()).status(), Code::kUnauthenticated, "does not verify", t3);
  // Swapping R and S must not verify either.
  std::string t4 = p[0] + "." + p[1] + "." + B64(Decoded(p[2]).substr(66) + Decoded(p[2]).substr(0, 66));
  EXPECT_EQ(VerifyJwt(t4, *pub_, Opts()).status().code(), Code::kUnauthenticated);

  ExpectRefused(VerifyJwt(*token, *other_pub_, Opts()).status(), Code::kUnauthenticated, "does not verify", *token);
  EXPECT_TRUE(VerifyJwt(*token, *pub_, Opts()).ok());
}

// ---- Header refusals ----

TEST_F(JwtTest, RefusesOtherAlgorithmsNamingThem) {
  std::string payload = json{{"exp", kNow + 60}}.dump();
  std::string input_none = B64(R"({"alg":"none","typ":"JWT"})") + "." + B64(payload);
  ExpectRefused(VerifyJwt(input_none + ".", *pub_, Opts()).status(), Code::kInvalidArgument, "signature is empty",
                input_none);
  std::string none_with_sig = input_none + "." + B64(RawSign(*key_, input_none));
  ExpectRefused(VerifyJwt(none_with_sig, *pub_, Opts()).status(), Code::kInvalidArgument,
                "algorithm \"none\" is refused", none_with_sig);

  // The classic key-confusion attack: HMAC keyed with the public key's PEM.
  std::string pem = *pub_->ToPem();
  std::string input_hs = B64(R"({"alg":"HS256","typ":"JWT"})") + "." + B64(payload);
  unsigned char mac[32];
  unsigned int mac_len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
                 reinterpret_cast<const unsigned char*>(input_hs.data()), input_hs.size(), mac, &mac_len),
            nullptr);
  std::string hs = input_hs + "." + B64(std::string_view(reinterpret_cast<char*>(mac), mac_len));
  ExpectRefused(VerifyJwt(hs, *pub_, Opts()).status(), Code::kInvalidArgument, "algorithm \"HS256\" is refused", hs);

  // ES256 and ES384 with correct-length-for-their-curve garbage, and a valid P-521 signature.
  for (const char* alg : {"ES256", "ES384", "RS256", "es512", "ES512 "}) {
    std::string header = std::string(R"({"alg":")") + alg + R"("})";
    std::string t = ForgeSigned(*key_, header, payload);
    ExpectRefused(VerifyJwt(t, *pub_, Opts()).status(), Code::kInvalidArgument,
                  std::string("algorithm \"") + alg + "\" is refused", t);
  }
  std::string missing = ForgeSigned(*key_, R"({"typ":"JWT"})", payload);
  ExpectRefused(VerifyJwt(missing, *pub_, Opts()).status(), Code::kInvalidArgument, "no \"alg\"", missing);
  std::string not_string = ForgeSigned(*key_, R"({"alg":512})", payload);
  ExpectRefused(VerifyJwt(not_string, *pub_, Opts()).status(), Code::kInvalidArgument, "not a string", not_string);
  // A control character in the refused name is not reflected raw into the message.
  std::string ctrl = ForgeSigned(*key_, "{\"alg\":\"E\\u0007S\"}", payload);
  Status s = VerifyJwt(ctrl, *pub_, Opts()).status();
  ExpectRefused(s, Code::kInvalidArgument, "algorithm \"E?S\" is refused", ctrl);
}

TEST_F(JwtTest, RefusesBadTypCritDuplicatesAndNonObjectHeaders) {
  std::string payload = json{{"exp", kNow + 60}}.dump();
  struct Case {
    const char* header;
    const char* phrase;
  } cases[] = {
      {R"({"alg":"ES512","typ":"JWS"})", "\"typ\" must be \"JWT\""},
      {R"({"alg":"ES512","typ":1})", "\"typ\" must be \"JWT\""},
      {R"({"alg":"ES512","crit":["exp"],"exp":1})", "\"crit\""},
      {R"({"alg":"ES512","alg":"none"})", "repeats a member name"},
      {R"({"alg":"none","alg":"ES512"})", "repeats a member name"},
      {R"(["ES512"])", "not a JSON object"},
      {R"({"alg":"ES512")", "not valid JSON"},
      {"", "not valid JSON"},
  };
  for (const Case& c : cases) {
    std::string t = ForgeSigned(*key_, c.header, payload);
    if (std::string_view(c.header).empty()) t = "." + B64(payload) + "." + B64(RawSign(*key_, "." + B64(payload)));
    Status st = VerifyJwt(t, *pub_, Opts()).status();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << c.header << " -> " << st.ToString();
    if (!std::string_view(c.header).empty()) ExpectRefused(st, Code::kInvalidArgument, c.phrase, t);
  }
  // A typ-less ES512 header (like RFC 7515 A.4) is fine.
  EXPECT_TRUE(VerifyJwt(ForgeSigned(*key_, R"({"alg":"ES512"})", payload), *pub_, Opts()).ok());
}

// ---- Signature encoding refusals ----

TEST_F(JwtTest, RefusesDerSignaturesAndOutOfRangeRS) {
  std::string input = B64(kEs512JwtHeader) + "." + B64(json{{"exp", kNow + 60}}.dump());
  // A genuine, valid signature, but DER-encoded: must be refused on its size alone.
  std::string der = DerSign(*key_, input);
  ASSERT_NE(der.size(), 132u);
  std::string t = input + "." + B64(der);
  ExpectRefused(VerifyJwt(t, *pub_, Opts()).status(), Code::kInvalidArgument, "exactly 132 bytes", t);
  std::string t131 = input + "." + B64(RawSign(*key_, input).substr(1));
  ExpectRefused(VerifyJwt(t131, *pub_, Opts()).status(), Code::kInvalidArgument, "is 131 bytes", t131);
  std::string t133 = input + "." + B64(std::string(1, '\0') + RawSign(*key_, input));
  ExpectRefused(VerifyJwt(t133, *pub_, Opts()).status(), Code::kInvalidArgument, "is 133 bytes", t133);

  std::string good = RawSign(*key_, input);
  std::string r_zero = std::string(66, '\0') + good.substr(66);
  ExpectRefused(VerifyJwt(input + "." + B64(r_zero), *pub_, Opts()).status(), Code::kInvalidArgument,
                "R is out of range", input);
  std::string s_max = good.substr(0, 66) + std::string(66, '\xff');
  ExpectRefused(VerifyJwt(input + "." + B64(s_max), *pub_, Opts()).status(), Code::kInvalidArgument,
                "S is out of range", input);
  // S = n (the group order) is out of range; S = n - 1 is in range (and simply wrong).
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_secp521r1);
  const BIGNUM* n = EC_GROUP_get0_order(group);
  std::string s_n(66, '\0');
  BN_bn2binpad(n, reinterpret_cast<unsigned char*>(s_n.data()), 66);
  ExpectRefused(VerifyJwt(input + "." + B64(good.substr(0, 66) + s_n), *pub_, Opts()).status(),
                Code::kInvalidArgument, "S is out of range", input);
  BIGNUM* n1 = BN_dup(n);
  BN_sub_word(n1, 1);
  std::string s_n1(66, '\0');
  BN_bn2binpad(n1, reinterpret_cast<unsigned char*>(s_n1.data()), 66);
  EXPECT_EQ(VerifyJwt(input + "." + B64(good.substr(0, 66) + s_n1), *pub_, Opts()).status().code(),
            Code::kUnauthenticated);
  BN_free(n1);
  EC_GROUP_free(group);
  EXPECT_TRUE(VerifyJwt(input + "." + B64(good), *pub_, Opts()).ok());
}

// ---- Structural refusals ----

TEST_F(JwtTest, RefusesWrongPartCountsBadCharactersAndOversizedTokens) {
  Result<std::string> token = SignJwt(*key_, json{{"exp", kNow + 60}});
  ASSERT_TRUE(token.ok());
  std::vector<std::string> p = Split(*token);
  std::string two = p[0] + "." + p[1];
  ExpectRefused(VerifyJwt(two, *pub_, Opts()).status(), Code::kInvalidArgument, "has 2 dot-separated parts", two);
  std::string four = *token + "." + p[2];
  ExpectRefused(VerifyJwt(four, *pub_, Opts()).status(), Code::kInvalidArgument, "has 4 dot-separated parts", four);
  ExpectRefused(VerifyJwt(p[0], *pub_, Opts()).status(), Code::kInvalidArgument, "has 1 dot-separated parts", "");
  ExpectRefused(VerifyJwt("", *pub_, Opts()).status(), Code::kInvalidArgument, "empty", "");
  ExpectRefused(VerifyJwt("..", *pub_, Opts()).status(), Code::kInvalidArgument, "header is empty", "");
  // JWE compact serialization (5 parts).
  ExpectRefused(VerifyJwt("a.b.c.d.e", *pub_, Opts()).status(), Code::kInvalidArgument, "has 5", "");

  // Characters outside base64url, in each part: standard-alphabet '+' '/', padding, whitespace.
  for (int part = 0; part < 3; ++part) {
    for (std::string bad : {"+", "/", "=", " ", "\n", "%"}) {
      std::vector<std::string> q = p;
      q[part].insert(q[part].size() / 2, bad);
      std::string t = q[0] + "." + q[1] + "." + q[2];
      Status st = VerifyJwt(t, *pub_, Opts()).status();
      EXPECT_EQ(st.code(), Code::kInvalidArgument) << "part " << part << " char '" << bad << "': " << st.ToString();
      EXPECT_NE(st.message().find("base64url"), std::string::npos) << st.message();
    }
  }
  // Padded signature ("==" at the end) is not the unpadded form JWS requires.
  std::string padded = *token + "==";
  EXPECT_EQ(VerifyJwt(padded, *pub_, Opts()).status().code(), Code::kInvalidArgument);

  std::string huge = *token + std::string(kMaxJwtSize, 'A');
  ExpectRefused(VerifyJwt(huge, *pub_, Opts()).status(), Code::kInvalidArgument, "at most 8192", "");
  std::string just_over(kMaxJwtSize + 1, 'A');
  ExpectRefused(VerifyJws(just_over, *pub_).status(), Code::kInvalidArgument, "is 8193 bytes", "");
  ExpectRefused(PeekActivationClaims(just_over).status(), Code::kInvalidArgument, "is 8193 bytes", "");
}

TEST_F(JwtTest, PayloadMustBeAJsonObjectForJwt) {
  for (std::string_view payload : {"Payload", "[1,2]", "\"s\"", "{\"a\":1,\"a\":2}", "{\"exp\":1}x"}) {
    Result<std::string> t = SignJws(*key_, kEs512JwtHeader, payload);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(VerifyJws(*t, *pub_).ok());  // a valid JWS...
    Status st = VerifyJwt(*t, *pub_, Opts()).status();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << payload << " -> " << st.ToString();  // ...but not a JWT
  }
  // Nesting beyond the bound.
  std::string deep = "{\"exp\":" + std::to_string(kNow + 60) + ",\"x\":" + std::string(40, '[') +
                     std::string(40, ']') + "}";
  Result<std::string> t = SignJws(*key_, kEs512JwtHeader, deep);
  ASSERT_TRUE(t.ok());
  ExpectRefused(VerifyJwt(*t, *pub_, Opts()).status(), Code::kInvalidArgument, "nests deeper", *t);
}

// ---- Time checks ----

TEST_F(JwtTest, ExpiryWithSkewBoundaries) {
  const int64_t exp = kNow + 100;
  Result<std::string> token = SignJwt(*key_, json{{"exp", exp}});
  ASSERT_TRUE(token.ok());
  // Skew 0: valid strictly before exp.
  EXPECT_TRUE(VerifyJwt(*token, *pub_, Opts(exp - 1, 0)).ok());
  ExpectRefused(VerifyJwt(*token, *pub_, Opts(exp, 0)).status(), Code::kUnauthenticated, "token expired at", *token);
  // Skew 30: valid up to exp + 29, refused from exp + 30.
  EXPECT_TRUE(VerifyJwt(*token, *pub_, Opts(exp + 29, 30)).ok());
  Status st = VerifyJwt(*token, *pub_, Opts(exp + 30, 30)).status();
  ExpectRefused(st, Code::kUnauthenticated, "token expired at 2023-11-14T22:15:00Z", *token);
  EXPECT_NE(st.message().find("allowed clock skew 30 s"), std::string::npos) << st.message();

  // exp is required by default, optional on request; it must be an integer.
  Result<std::string> no_exp = SignJwt(*key_, json{{"iat", kNow}});
  ExpectRefused(VerifyJwt(*no_exp, *pub_, Opts()).status(), Code::kInvalidArgument, "\"exp\" is missing", "");
  JwtVerifyOptions lax = Opts();
  lax.require_exp = false;
  EXPECT_TRUE(VerifyJwt(*no_exp, *pub_, lax).ok());
  for (json bad : {json("1700000100"), json(1700000100.5), json(-1), json(true), json(nullptr),
                   json(static_cast<uint64_t>(1) << 63)}) {
    Result<std::string> t = SignJwt(*key_, json{{"exp", bad}});
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(VerifyJwt(*t, *pub_, Opts()).status().code(), Code::kInvalidArgument) << bad.dump();
  }
}

TEST_F(JwtTest, NotBeforeAndIssuedAtWithSkewBoundaries) {
  Result<std::string> token = SignJwt(*key_, json{{"exp", kNow + 1000}, {"nbf", kNow + 100}});
  ASSERT_TRUE(token.ok());
  ExpectRefused(VerifyJwt(*token, *pub_, Opts(kNow, 30)).status(), Code::kUnauthenticated, "token not yet valid",
                *token);
  EXPECT_TRUE(VerifyJwt(*token, *pub_, Opts(kNow + 70, 30)).ok());  // nbf - skew: valid
  ExpectRefused(VerifyJwt(*token, *pub_, Opts(kNow + 69, 30)).status(), Code::kUnauthenticated, "not yet valid",
                *token);
  EXPECT_TRUE(VerifyJwt(*token, *pub_, Opts(kNow + 100, 0)).ok());
  EXPECT_FALSE(VerifyJwt(*token, *pub_, Opts(kNow + 99, 0)).ok());

  Result<std::string> future = SignJwt(*key_, json{{"exp", kNow + 1000}, {"iat", kNow + 31}});
  ExpectRefused(VerifyJwt(*future, *pub_, Opts(kNow, 30)).status(), Code::kUnauthenticated, "issued in the future",
                *future);
  EXPECT_TRUE(VerifyJwt(*future, *pub_, Opts(kNow + 1, 30)).ok());

  Result<std::string> bad_nbf = SignJwt(*key_, json{{"exp", kNow + 1000}, {"nbf", "soon"}});
  ExpectRefused(VerifyJwt(*bad_nbf, *pub_, Opts()).status(), Code::kInvalidArgument, "\"nbf\" must be an integer",
                "");
}

TEST_F(JwtTest, RefusesBadOptions) {
  Result<std::string> token = SignJwt(*key_, json{{"exp", kNow + 60}});
  EXPECT_EQ(VerifyJwt(*token, *pub_, Opts(kNow, -1)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyJwt(*token, *pub_, Opts(kNow, 3601)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(VerifyJwt(*token, *pub_, Opts(-5, 30)).status().code(), Code::kInvalidArgument);
}

// ---- Activation tokens ----

TEST_F(JwtTest, NewActivationClaimsFollowTheReference) {
  ActivationClaims c = Claims(kNow, 1800);
  EXPECT_EQ(c.iat, kNow);
  EXPECT_EQ(c.nbf, kNow - 5);
  EXPECT_EQ(c.exp, kNow + 1800);
  EXPECT_EQ(c.type, "wrapping");
  EXPECT_TRUE(IsUuidV4(c.jti)) << c.jti;
  EXPECT_NE(Claims().jti, c.jti);
  EXPECT_EQ(NewActivationClaims("", "acc", kNow).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewActivationClaims("https://p", "", kNow).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewActivationClaims(std::string(1025, 'a'), "acc", kNow).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewActivationClaims("https://p", "acc", kNow, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewActivationClaims("https://p", "acc", kNow, 31LL * 86400).status().code(), Code::kInvalidArgument);
}

TEST_F(JwtTest, ActivationTokenRoundTrip) {
  ActivationClaims c = Claims();
  Result<std::string> token = IssueActivationToken(*key_, c);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  json payload = json::parse(Decoded(Split(*token)[1]));
  EXPECT_EQ(payload, ClaimsJson(c));
  EXPECT_EQ(payload.size(), 7u);

  Result<ActivationClaims> got = VerifyActivationToken(*token, *pub_, kNow + 10);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->addr, c.addr);
  EXPECT_EQ(got->jti, c.jti);
  EXPECT_EQ(got->accessor, c.accessor);
  EXPECT_EQ(got->type, "wrapping");
  EXPECT_EQ(got->iat, c.iat);
  EXPECT_EQ(got->nbf, c.nbf);
  EXPECT_EQ(got->exp, c.exp);
  // Right after issue (nbf = iat - 5) it is valid even with no skew.
  EXPECT_TRUE(VerifyActivationToken(*token, *pub_, kNow, 0).ok());
  ExpectRefused(VerifyActivationToken(*token, *other_pub_, kNow).status(), Code::kUnauthenticated, "does not verify",
                *token);
}

TEST_F(JwtTest, ExpiredActivationTokenTellsTheOperatorWhatToDo) {
  Result<std::string> token = IssueActivationToken(*key_, Claims(kNow, 1800));
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(VerifyActivationToken(*token, *pub_, kNow + 1800 + 29, 30).ok());
  Status st = VerifyActivationToken(*token, *pub_, kNow + 1800 + 30, 30).status();
  ExpectRefused(st, Code::kUnauthenticated, "activation token expired at 2023-11-14T22:43:20Z", *token);
  EXPECT_NE(st.message().find("generate a new one on the primary"), std::string::npos) << st.message();

  // Before iat - skew (a secondary whose clock is behind the primary's by more than the skew).
  Status early = VerifyActivationToken(*token, *pub_, kNow - 31, 30).status();
  ExpectRefused(early, Code::kUnauthenticated, "activation token not yet valid", *token);
  EXPECT_NE(early.message().find("clocks"), std::string::npos) << early.message();
  EXPECT_TRUE(VerifyActivationToken(*token, *pub_, kNow - 30, 30).ok());
}

TEST_F(JwtTest, ActivationTokenOfWrongTypeOrMissingClaimsIsRefused) {
  ActivationClaims c = Claims();
  json wrong_type = ClaimsJson(c);
  wrong_type["type"] = "batch";
  Result<std::string> t = SignJwt(*key_, wrong_type);
  ASSERT_TRUE(t.ok());
  ExpectRefused(VerifyActivationToken(*t, *pub_, kNow).status(), Code::kUnauthenticated,
                "has type \"batch\"; expected \"wrapping\"", *t);

  for (const char* name : {"addr", "jti", "accessor", "type", "iat", "nbf", "exp"}) {
    json j = ClaimsJson(c);
    j.erase(name);
    Result<std::string> tok = SignJwt(*key_, j);
    ASSERT_TRUE(tok.ok());
    ExpectRefused(VerifyActivationToken(*tok, *pub_, kNow).status(), Code::kInvalidArgument,
                  std::string("\"") + name + "\" is missing", *tok);
    ExpectRefused(PeekActivationClaims(*tok).status(), Code::kInvalidArgument,
                  std::string("\"") + name + "\" is missing", *tok);
  }
  // Wrong JSON types and empty strings.
  for (auto [name, value] : std::vector<std::pair<const char*, json>>{
           {"addr", json(8200)}, {"jti", json::array()}, {"accessor", json(nullptr)}, {"type", json(1)},
           {"iat", json("now")}, {"addr", json("")}, {"jti", json(std::string(1025, 'j'))}}) {
    json j = ClaimsJson(c);
    j[name] = value;
    Result<std::string> tok = SignJwt(*key_, j);
    ASSERT_TRUE(tok.ok());
    Status st = VerifyActivationToken(*tok, *pub_, kNow).status();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << name << "=" << value.dump() << " -> " << st.ToString();
    EXPECT_NE(st.message().find(name), std::string::npos) << st.message();
  }
}

TEST_F(JwtTest, IssueRefusesInconsistentClaims) {
  ActivationClaims c = Claims();
  ActivationClaims bad = c;
  bad.type = "batch";
  EXPECT_EQ(IssueActivationToken(*key_, bad).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.addr.clear();
  EXPECT_EQ(IssueActivationToken(*key_, bad).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.exp = bad.iat;
  EXPECT_EQ(IssueActivationToken(*key_, bad).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.nbf = bad.iat + 1;
  EXPECT_EQ(IssueActivationToken(*key_, bad).status().code(), Code::kInvalidArgument);
  bad = c;
  bad.jti.clear();
  EXPECT_EQ(IssueActivationToken(*key_, bad).status().code(), Code::kInvalidArgument);
}

TEST_F(JwtTest, PeekDecodesWithoutVerifyingAndProvesNothing) {
  ActivationClaims c = Claims();
  Result<std::string> token = IssueActivationToken(*key_, c);
  ASSERT_TRUE(token.ok());
  Result<ActivationClaims> peek = PeekActivationClaims(*token);
  ASSERT_TRUE(peek.ok()) << peek.status().ToString();
  EXPECT_EQ(peek->addr, c.addr);
  EXPECT_EQ(peek->jti, c.jti);

  // A forgery with a garbage signature peeks fine (that is the point: it proves nothing)...
  std::vector<std::string> p = Split(*token);
  json evil = ClaimsJson(c);
  evil["addr"] = "https://attacker.example:8200";
  std::string forged = p[0] + "." + B64(evil.dump()) + "." + p[2];
  Result<ActivationClaims> forged_peek = PeekActivationClaims(forged);
  ASSERT_TRUE(forged_peek.ok());
  EXPECT_EQ(forged_peek->addr, "https://attacker.example:8200");
  // ...and is refused by real verification. So are expired tokens, which peek still decodes.
  EXPECT_EQ(VerifyActivationToken(forged, *pub_, kNow).status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(PeekActivationClaims(*IssueActivationToken(*key_, Claims(kNow - 100000))).ok());

  // Structural checks still apply.
  EXPECT_EQ(PeekActivationClaims(p[0] + "." + p[1]).status().code(), Code::kInvalidArgument);
  std::string none = B64(R"({"alg":"none"})") + "." + p[1] + "." + p[2];
  ExpectRefused(PeekActivationClaims(none).status(), Code::kInvalidArgument, "\"none\"", none);
  std::string short_sig = p[0] + "." + p[1] + "." + B64("sig");
  EXPECT_EQ(PeekActivationClaims(short_sig).status().code(), Code::kInvalidArgument);
  std::string not_json = p[0] + "." + B64("Payload") + "." + p[2];
  EXPECT_EQ(PeekActivationClaims(not_json).status().code(), Code::kInvalidArgument);
}

TEST_F(JwtTest, ConcurrentVerificationWithSharedKeys) {
  Result<std::string> token = IssueActivationToken(*key_, Claims());
  ASSERT_TRUE(token.ok());
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (VerifyActivationToken(*token, *pub_, kNow).ok()) ok++;
        if (!VerifyActivationToken(*token, *other_pub_, kNow).ok()) refused++;
        if (SignJwt(*key_, json{{"i", i}}).ok()) ok++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 4 * 20 * 2);
  EXPECT_EQ(refused.load(), 4 * 20);
}

}  // namespace
}  // namespace rocksdr::crypto
