#include "rocksdr/crypto/jwt.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include <array>
#include <ctime>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "rocksdr/crypto/encoding.h"
#include "rocksdr/crypto/random.h"

namespace rocksdr::crypto {
namespace {

using nlohmann::json;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using SigPtr = std::unique_ptr<ECDSA_SIG, SigFree>;

// Largest NumericDate accepted: 9999-12-31T23:59:59Z. Keeps time arithmetic far from overflow.
constexpr int64_t kMaxNumericDate = 253402300799;
constexpr int64_t kMaxClockSkew = 3600;
// JSON nesting allowed in a header or claims set (ours are flat).
constexpr int kMaxJsonDepth = 16;

Status OpenSslFailure(std::string_view what) {
  ERR_clear_error();
  return Status::Internal("OpenSSL failed to " + std::string(what));
}

// A value from the token, made safe to put in an error message: printable ASCII only, short.
std::string Printable(std::string_view s, size_t max = 32) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    char c = s[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string FormatTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (gmtime_r(&tt, &tm) == nullptr) return std::to_string(t);
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return std::to_string(t);
  return buf;
}

// Parses JSON without exceptions, refusing duplicate object keys (which parsers resolve
// differently: a classic way to make a signer and a verifier disagree) and deep nesting.
Result<json> ParseJsonStrict(std::string_view text, std::string_view what) {
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  bool too_deep = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) too_deep = true;
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() && !keys.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  json j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + " is not valid JSON");
  if (too_deep) {
    return Status::InvalidArgument(std::string(what) + " nests deeper than " + std::to_string(kMaxJsonDepth) +
                                   " levels");
  }
  if (duplicate) return Status::InvalidArgument(std::string(what) + " repeats a member name");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + " is not a JSON object");
  return j;
}

struct TokenParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // header "." payload
};

Result<TokenParts> SplitToken(std::string_view token) {
  if (token.size() > kMaxJwtSize) {
    return Status::InvalidArgument("token is " + std::to_string(token.size()) + " bytes; at most " +
                                   std::to_string(kMaxJwtSize) + " are accepted");
  }
  if (token.empty()) return Status::InvalidArgument("token is empty");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    size_t dots = 0;
    for (char c : token) dots += c == '.' ? 1 : 0;
    return Status::InvalidArgument("token has " + std::to_string(dots + 1) +
                                   " dot-separated parts; a compact JWS has exactly 3 (header.payload.signature)");
  }
  TokenParts p;
  p.header = token.substr(0, dot1);
  p.payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
  p.signature = token.substr(dot2 + 1);
  p.signing_input = token.substr(0, dot2);
  if (p.header.empty()) return Status::InvalidArgument("token header is empty");
  if (p.signature.empty()) return Status::InvalidArgument("token signature is empty (unsigned tokens are refused)");
  return p;
}

// Checks a decoded protected header: JSON object, alg == ES512, typ absent or "JWT", no crit.
Status CheckHeaderJson(std::string_view header_json) {
  Result<json> h = ParseJsonStrict(header_json, "token header");
  if (!h.ok()) return h.status();
  auto alg = h->find("alg");
  if (alg == h->end()) return Status::InvalidArgument("token header has no \"alg\"; only ES512 is accepted");
  if (!alg->is_string()) return Status::InvalidArgument("token header \"alg\" is not a string; only ES512 is accepted");
  const std::string& a = alg->get_ref<const std::string&>();
  if (a != "ES512") {
    return Status::InvalidArgument("token algorithm \"" + Printable(a) + "\" is refused; only ES512 is accepted");
  }
  auto typ = h->find("typ");
  if (typ != h->end() && (!typ->is_string() || typ->get_ref<const std::string&>() != "JWT")) {
    return Status::InvalidArgument("token header \"typ\" must be \"JWT\" when present");
  }
  if (h->contains("crit")) {
    return Status::InvalidArgument("token header has \"crit\" extensions; none are supported");
  }
  return Status::OK();
}

Status CheckHeader(std::string_view header_b64) {
  Result<SecureBytes> raw = Base64UrlDecode(header_b64, kMaxJwtSize);
  if (!raw.ok()) return Status::InvalidArgument("token header is not valid base64url: " + raw.status().message());
  return CheckHeaderJson(AsStringView(*raw));
}

const BIGNUM* P521Order() {
  // Computed once; EC_GROUP_new_by_curve_name_ex and EC_GROUP_get0_order are not deprecated.
  static const BIGNUM* order = [] {
    EC_GROUP* group = EC_GROUP_new_by_curve_name_ex(nullptr, nullptr, NID_secp521r1);
    if (group == nullptr) return static_cast<BIGNUM*>(nullptr);
    BIGNUM* n = BN_dup(EC_GROUP_get0_order(group));
    EC_GROUP_free(group);
    return n;  // lives for the process
  }();
  return order;
}

// Decodes the JWS signature part into DER ECDSA-Sig, refusing anything but 132 bytes with R
// and S in [1, n-1].
Result<std::vector<uint8_t>> SignatureToDer(std::string_view signature_b64) {
  // 132 bytes are 176 characters; bound the decoder to a little more so a long input gets the
  // size message below rather than a generic one.
  Result<SecureBytes> raw = Base64UrlDecode(signature_b64, kMaxJwtSize);
  if (!raw.ok()) return Status::InvalidArgument("token signature is not valid base64url: " + raw.status().message());
  if (raw->size() != kEs512SignatureSize) {
    return Status::InvalidArgument("token signature is " + std::to_string(raw->size()) +
                                   " bytes; an ES512 signature is exactly " + std::to_string(kEs512SignatureSize) +
                                   " bytes (R || S, RFC 7518 section 3.4), not DER");
  }
  const BIGNUM* n = P521Order();
  if (n == nullptr) return OpenSslFailure("load the P-521 group");
  BnPtr r(BN_bin2bn(raw->data(), kP521CoordinateSize, nullptr));
  BnPtr s(BN_bin2bn(raw->data() + kP521CoordinateSize, kP521CoordinateSize, nullptr));
  if (!r || !s) return OpenSslFailure("decode the signature");
  if (BN_is_zero(r.get()) || BN_cmp(r.get(), n) >= 0) {
    return Status::InvalidArgument("token signature R is out of range for P-521");
  }
  if (BN_is_zero(s.get()) || BN_cmp(s.get(), n) >= 0) {
    return Status::InvalidArgument("token signature S is out of range for P-521");
  }
  SigPtr sig(ECDSA_SIG_new());
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return OpenSslFailure("build an ECDSA signature");
  r.release();  // owned by sig now
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return OpenSslFailure("encode an ECDSA signature");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return OpenSslFailure("encode an ECDSA signature");
  return der;
}

Result<std::string> DerToRawSignature(const uint8_t* der, size_t der_len) {
  const uint8_t* p = der;
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));  // NOLINT(runtime/int)
  if (!sig) return OpenSslFailure("decode the ECDSA signature it produced");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(kEs512SignatureSize, '\0');
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  if (BN_bn2binpad(r, o, kP521CoordinateSize) != static_cast<int>(kP521CoordinateSize) ||
      BN_bn2binpad(s, o + kP521CoordinateSize, kP521CoordinateSize) != static_cast<int>(kP521CoordinateSize)) {
    return OpenSslFailure("encode the signature as R || S");
  }
  return out;
}

Status VerifySignature(const TokenParts& parts, const EcPublicKey& key) {
  Result<std::vector<uint8_t>> der = SignatureToDer(parts.signature);
  if (!der.ok()) return der.status();
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslFailure("allocate a digest context");
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA512", nullptr, nullptr, key.pkey(), nullptr) != 1) {
    return OpenSslFailure("initialize ECDSA verification");
  }
  int rc = EVP_DigestVerify(ctx.get(), der->data(), der->size(),
                            reinterpret_cast<const unsigned char*>(parts.signing_input.data()),
                            parts.signing_input.size());
  ERR_clear_error();
  if (rc != 1) {
    return Status::Unauthenticated(
        "token signature does not verify with the configured public key (wrong key, or the token was altered)");
  }
  return Status::OK();
}

// Reads an optional NumericDate claim; it must be an integer in [0, kMaxNumericDate].
Result<std::optional<int64_t>> ReadTime(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<int64_t>();
  bool in_range = false;
  int64_t v = 0;
  if (it->is_number_unsigned()) {
    auto u = it->get<uint64_t>();
    in_range = u <= static_cast<uint64_t>(kMaxNumericDate);
    v = static_cast<int64_t>(u);
  } else if (it->is_number_integer()) {
    v = it->get<int64_t>();
    in_range = v >= 0 && v <= kMaxNumericDate;
  } else {
    return Status::InvalidArgument(std::string("claim \"") + name +
                                   "\" must be an integer (seconds since the Unix epoch)");
  }
  if (!in_range) return Status::InvalidArgument(std::string("claim \"") + name + "\" is out of range");
  return std::optional<int64_t>(v);
}

Status CheckTimes(const json& claims, const JwtVerifyOptions& opts) {
  auto exp = ReadTime(claims, "exp");
  if (!exp.ok()) return exp.status();
  auto nbf = ReadTime(claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  auto iat = ReadTime(claims, "iat");
  if (!iat.ok()) return iat.status();
  const int64_t now = opts.now;
  const int64_t skew = opts.clock_skew_seconds;
  const std::string skew_text = "allowed clock skew " + std::to_string(skew) + " s";
  if (!exp->has_value()) {
    if (opts.require_exp) return Status::InvalidArgument("claim \"exp\" is missing; tokens must expire");
  } else if (now >= **exp + skew) {
    std::string msg = opts.token_name + " expired at " + FormatTime(**exp) + " (now " + FormatTime(now) + ", " +
                      skew_text + ")";
    if (!opts.expired_hint.empty()) msg += "; " + opts.expired_hint;
    return Status::Unauthenticated(std::move(msg));
  }
  if (nbf->has_value() && now + skew < **nbf) {
    return Status::Unauthenticated(opts.token_name + " not yet valid: valid from " + FormatTime(**nbf) + " (now " +
                                   FormatTime(now) + ", " + skew_text +
                                   "); check that the clocks of issuer and this node agree");
  }
  if (iat->has_value() && now + skew < **iat) {
    return Status::Unauthenticated(opts.token_name + " not yet valid: issued in the future at " +
                                   FormatTime(**iat) + " (now " + FormatTime(now) + ", " + skew_text +
                                   "); check that the clocks of issuer and this node agree");
  }
  return Status::OK();
}

Result<std::string> ReadString(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return Status::InvalidArgument(std::string("claim \"") + name + "\" is missing");
  if (!it->is_string()) return Status::InvalidArgument(std::string("claim \"") + name + "\" must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.empty()) return Status::InvalidArgument(std::string("claim \"") + name + "\" is empty");
  if (s.size() > kMaxActivationClaimSize) {
    return Status::InvalidArgument(std::string("claim \"") + name + "\" is longer than " +
                                   std::to_string(kMaxActivationClaimSize) + " bytes");
  }
  return s;
}

Result<int64_t> ReadRequiredTime(const json& claims, const char* name) {
  auto t = ReadTime(claims, name);
  if (!t.ok()) return t.status();
  if (!t->has_value()) return Status::InvalidArgument(std::string("claim \"") + name + "\" is missing");
  return **t;
}

Result<ActivationClaims> ParseActivationClaims(const json& j) {
  ActivationClaims c;
  auto addr = ReadString(j, "addr");
  if (!addr.ok()) return addr.status();
  auto jti = ReadString(j, "jti");
  if (!jti.ok()) return jti.status();
  auto accessor = ReadString(j, "accessor");
  if (!accessor.ok()) return accessor.status();
  auto type = ReadString(j, "type");
  if (!type.ok()) return type.status();
  auto iat = ReadRequiredTime(j, "iat");
  if (!iat.ok()) return iat.status();
  auto nbf = ReadRequiredTime(j, "nbf");
  if (!nbf.ok()) return nbf.status();
  auto exp = ReadRequiredTime(j, "exp");
  if (!exp.ok()) return exp.status();
  c.addr = std::move(*addr);
  c.jti = std::move(*jti);
  c.accessor = std::move(*accessor);
  c.type = std::move(*type);
  c.iat = *iat;
  c.nbf = *nbf;
  c.exp = *exp;
  return c;
}

Status CheckNow(int64_t now) {
  if (now < 0 || now > kMaxNumericDate) return Status::InvalidArgument("current time is out of range");
  return Status::OK();
}

}  // namespace

// ---- Compact JWS ----

Result<std::string> SignJws(const EcPrivateKey& key, std::string_view header_json, std::string_view payload) {
  ROCKSDR_RETURN_IF_ERROR(CheckHeaderJson(header_json));
  std::string token = Base64UrlEncode(header_json);
  token += '.';
  token += Base64UrlEncode(payload);
  // The encoded signature adds 1 + 176 characters; refuse to issue what VerifyJws would refuse.
  if (token.size() + 1 + (kEs512SignatureSize * 4 + 2) / 3 > kMaxJwtSize) {
    return Status::InvalidArgument("token would be larger than " + std::to_string(kMaxJwtSize) +
                                   " bytes; reduce the claims");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslFailure("allocate a digest context");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA512", nullptr, nullptr, key.pkey(), nullptr) != 1) {
    return OpenSslFailure("initialize ECDSA signing");
  }
  const auto* tbs = reinterpret_cast<const unsigned char*>(token.data());
  size_t der_len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &der_len, tbs, token.size()) != 1) return OpenSslFailure("size a signature");
  std::vector<uint8_t> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, tbs, token.size()) != 1) return OpenSslFailure("sign");
  Result<std::string> raw = DerToRawSignature(der.data(), der_len);
  if (!raw.ok()) return raw.status();
  token += '.';
  token += Base64UrlEncode(*raw);
  return token;
}

Result<std::string> VerifyJws(std::string_view token, const EcPublicKey& key) {
  Result<TokenParts> parts = SplitToken(token);
  if (!parts.ok()) return parts.status();
  ROCKSDR_RETURN_IF_ERROR(CheckHeader(parts->header));
  // Decoding is not trusting: a malformed payload is reported as malformed, but its content is
  // returned (and so parsed by callers) only after the signature has verified.
  Result<SecureBytes> payload = Base64UrlDecode(parts->payload, kMaxJwtSize);
  if (!payload.ok()) {
    return Status::InvalidArgument("token payload is not valid base64url: " + payload.status().message());
  }
  ROCKSDR_RETURN_IF_ERROR(VerifySignature(*parts, key));
  return std::string(AsStringView(*payload));
}

// ---- JWT ----

Result<std::string> SignJwt(const EcPrivateKey& key, const nlohmann::json& claims) {
  if (!claims.is_object()) return Status::InvalidArgument("JWT claims must be a JSON object");
  std::string payload;
  try {
    payload = claims.dump();
  } catch (const json::exception&) {  // e.g. a string that is not valid UTF-8
    return Status::InvalidArgument("JWT claims cannot be serialized as JSON (strings must be valid UTF-8)");
  }
  return SignJws(key, kEs512JwtHeader, payload);
}

Result<nlohmann::json> VerifyJwt(std::string_view token, const EcPublicKey& key, const JwtVerifyOptions& opts) {
  ROCKSDR_RETURN_IF_ERROR(CheckNow(opts.now));
  if (opts.clock_skew_seconds < 0 || opts.clock_skew_seconds > kMaxClockSkew) {
    return Status::InvalidArgument("clock skew must be between 0 and " + std::to_string(kMaxClockSkew) + " seconds");
  }
  Result<std::string> payload = VerifyJws(token, key);
  if (!payload.ok()) return payload.status();
  // Signature verified: the claims come from the key holder and may now be parsed.
  Result<json> claims = ParseJsonStrict(*payload, "token claims");
  if (!claims.ok()) return claims.status();
  ROCKSDR_RETURN_IF_ERROR(CheckTimes(*claims, opts));
  if (opts.required_type.has_value()) {
    auto it = claims->find("type");
    if (it == claims->end()) return Status::InvalidArgument("claim \"type\" is missing");
    if (!it->is_string()) return Status::InvalidArgument("claim \"type\" must be a string");
    if (it->get_ref<const std::string&>() != *opts.required_type) {
      return Status::Unauthenticated(opts.token_name + " has type \"" +
                                     Printable(it->get_ref<const std::string&>()) + "\"; expected \"" +
                                     *opts.required_type + "\"");
    }
  }
  return std::move(*claims);
}

// ---- Activation tokens ----

Result<ActivationClaims> NewActivationClaims(std::string addr, std::string accessor, int64_t now,
                                             int64_t ttl_seconds) {
  ROCKSDR_RETURN_IF_ERROR(CheckNow(now));
  constexpr int64_t kMaxTtl = 30LL * 24 * 3600;
  if (ttl_seconds < 1 || ttl_seconds > kMaxTtl) {
    return Status::InvalidArgument("activation token TTL must be between 1 second and 30 days");
  }
  if (now + ttl_seconds > kMaxNumericDate) return Status::InvalidArgument("activation token expiry is out of range");
  Result<std::string> jti = RandomUuid();
  if (!jti.ok()) return jti.status();
  ActivationClaims c;
  c.addr = std::move(addr);
  c.accessor = std::move(accessor);
  c.jti = std::move(*jti);
  c.iat = now;
  c.nbf = now >= kActivationNotBeforeSlackSeconds ? now - kActivationNotBeforeSlackSeconds : 0;
  c.exp = now + ttl_seconds;
  if (c.addr.empty() || c.addr.size() > kMaxActivationClaimSize) {
    return Status::InvalidArgument("activation token addr must be 1.." + std::to_string(kMaxActivationClaimSize) +
                                   " bytes (the primary's API address)");
  }
  if (c.accessor.empty() || c.accessor.size() > kMaxActivationClaimSize) {
    return Status::InvalidArgument("activation token accessor must be 1.." +
                                   std::to_string(kMaxActivationClaimSize) + " bytes");
  }
  return c;
}

Result<std::string> IssueActivationToken(const EcPrivateKey& key, const ActivationClaims& claims) {
  json j = json::object();
  j["accessor"] = claims.accessor;
  j["addr"] = claims.addr;
  j["exp"] = claims.exp;
  j["iat"] = claims.iat;
  j["jti"] = claims.jti;
  j["nbf"] = claims.nbf;
  j["type"] = claims.type;
  // Validate with the verifier's own parser so we never issue a token we would refuse.
  Result<ActivationClaims> check = ParseActivationClaims(j);
  if (!check.ok()) return check.status().WithContext("cannot issue activation token");
  if (claims.type != kActivationTokenType) {
    return Status::InvalidArgument("cannot issue activation token: type must be \"wrapping\"");
  }
  if (!(claims.nbf <= claims.iat && claims.iat < claims.exp)) {
    return Status::InvalidArgument("cannot issue activation token: times must satisfy nbf <= iat < exp");
  }
  return SignJwt(key, j);
}

Result<ActivationClaims> VerifyActivationToken(std::string_view token, const EcPublicKey& key, int64_t now,
                                               int64_t clock_skew_seconds) {
  JwtVerifyOptions opts;
  opts.now = now;
  opts.clock_skew_seconds = clock_skew_seconds;
  opts.required_type = std::string(kActivationTokenType);
  opts.require_exp = true;
  opts.token_name = "activation token";
  opts.expired_hint =
      "generate a new one on the primary (sys/replication/dr/primary/secondary-token) and activate again";
  Result<json> claims = VerifyJwt(token, key, opts);
  if (!claims.ok()) return claims.status();
  return ParseActivationClaims(*claims);
}

Result<ActivationClaims> PeekActivationClaims(std::string_view token) {
  // UNVERIFIED: see the header. Structure only.
  Result<TokenParts> parts = SplitToken(token);
  if (!parts.ok()) return parts.status();
  ROCKSDR_RETURN_IF_ERROR(CheckHeader(parts->header));
  Result<SecureBytes> sig = Base64UrlDecode(parts->signature, kMaxJwtSize);
  if (!sig.ok()) return Status::InvalidArgument("token signature is not valid base64url: " + sig.status().message());
  if (sig->size() != kEs512SignatureSize) {
    return Status::InvalidArgument("token signature is " + std::to_string(sig->size()) +
                                   " bytes; an ES512 signature is exactly " + std::to_string(kEs512SignatureSize));
  }
  Result<SecureBytes> payload = Base64UrlDecode(parts->payload, kMaxJwtSize);
  if (!payload.ok()) {
    return Status::InvalidArgument("token payload is not valid base64url: " + payload.status().message());
  }
  Result<json> claims = ParseJsonStrict(AsStringView(*payload), "token claims");
  if (!claims.ok()) return claims.status();
  return ParseActivationClaims(*claims);
}

}  // namespace rocksdr::crypto
