// libFuzzer target: the JWT layer (crypto/jwt.h) and the EC key parsers it trusts (ec_key.h).
// The first input byte picks a mode; the rest is the data:
//   0  the data is a token: VerifyJws / VerifyJwt / VerifyActivationToken against a key the
//      input cannot know must all refuse it (a success would be a forgery); PeekActivationClaims
//      must hold its structural promises.
//   1  the data is a payload, signed for real with that key: VerifyJws returns it unchanged;
//      VerifyJwt / VerifyActivationToken then reach the claim checks, and what they accept obeys
//      the time and type rules; Peek agrees with Verify.
//   2  "header\npayload": SignJws with an input header; what it signs verifies to the payload.
//   3  the data as a PEM public / private key and as JWK coordinates (x.y.d).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "rocksdr/crypto/ec_key.h"
#include "rocksdr/crypto/jwt.h"

namespace {

using namespace rocksdr::crypto;
using rocksdr::Result;
using rocksdr::Status;

void Check(bool ok) {
  if (!ok) std::abort();
}

struct Keys {
  EcPrivateKey priv;
  EcPublicKey pub;
};

const Keys& TheKeys() {
  static const Keys* keys = [] {
    Result<EcPrivateKey> priv = EcPrivateKey::Generate();
    Check(priv.ok());
    Result<EcPublicKey> pub = priv->PublicKey();
    Check(pub.ok());
    return new Keys{std::move(priv).value(), std::move(pub).value()};
  }();
  return *keys;
}

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kSkew = 30;

void CheckAccepted(const ActivationClaims& c) {
  Check(c.type == kActivationTokenType);
  Check(c.exp > kNow - kSkew && c.nbf <= kNow + kSkew && c.iat <= kNow + kSkew);
  Check(!c.addr.empty() && c.addr.size() <= kMaxActivationClaimSize);
  Check(c.jti.size() <= kMaxActivationClaimSize && c.accessor.size() <= kMaxActivationClaimSize);
}

void VerifyEverything(std::string_view token, bool signed_by_us) {
  const Keys& k = TheKeys();
  JwtVerifyOptions opts;
  opts.now = kNow;
  opts.clock_skew_seconds = kSkew;
  Result<std::string> jws = VerifyJws(token, k.pub);
  Result<nlohmann::json> jwt = VerifyJwt(token, k.pub, opts);
  Result<ActivationClaims> act = VerifyActivationToken(token, k.pub, kNow, kSkew);
  Result<ActivationClaims> peek = PeekActivationClaims(token);
  if (!signed_by_us) {
    Check(!jws.ok() && !jwt.ok() && !act.ok());
  }
  if (jwt.ok()) {
    Check(jws.ok() && jwt->is_object());
  }
  if (act.ok()) {
    Check(jwt.ok());
    CheckAccepted(*act);
    Check(peek.ok() && peek->addr == act->addr && peek->jti == act->jti && peek->exp == act->exp);
  }
  if (peek.ok()) {
    Check(token.size() <= kMaxJwtSize);
    Check(!peek->addr.empty());  // Peek checks structure only (not the "type" value, nor times)
  }
  for (const Status& s : {jws.status(), jwt.status(), act.status(), peek.status()}) {
    // Errors never echo the token (whole or its signature part).
    if (!s.ok() && token.size() >= 16) Check(s.message().find(token) == std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 4;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Keys& k = TheKeys();
  switch (mode) {
    case 0:
      VerifyEverything(in, false);
      break;
    case 1: {
      Result<std::string> token = SignJws(k.priv, kEs512JwtHeader, in);
      if (!token.ok()) break;  // over kMaxJwtSize
      Result<std::string> payload = VerifyJws(*token, k.pub);
      Check(payload.ok() && *payload == in);
      VerifyEverything(*token, true);
      break;
    }
    case 2: {
      size_t nl = in.find('\n');
      if (nl == std::string_view::npos) break;
      Result<std::string> token = SignJws(k.priv, in.substr(0, nl), in.substr(nl + 1));
      if (!token.ok()) break;
      Result<std::string> payload = VerifyJws(*token, k.pub);
      if (payload.ok()) Check(*payload == in.substr(nl + 1));
      VerifyEverything(*token, true);
      break;
    }
    case 3: {
      Result<EcPublicKey> pub = EcPublicKey::FromPem(in);
      Result<EcPrivateKey> priv = EcPrivateKey::FromPem(in);
      if (priv.ok()) Check(priv->PublicKey().ok());
      size_t a = in.find('.');
      size_t b = a == std::string_view::npos ? a : in.find('.', a + 1);
      if (b != std::string_view::npos) {
        std::string_view x = in.substr(0, a), y = in.substr(a + 1, b - a - 1), d = in.substr(b + 1);
        Result<EcPublicKey> jpub = EcPublicKey::FromJwk(x, y);
        Result<EcPrivateKey> jpriv = EcPrivateKey::FromJwk(x, y, d);
        if (jpriv.ok()) Check(jpub.ok());
      }
      break;
    }
  }
  return 0;
}
