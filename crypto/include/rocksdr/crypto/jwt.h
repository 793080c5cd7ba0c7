// ES512 JSON Web Tokens: compact JWS (RFC 7515) signed with ECDSA P-521 + SHA-512 (RFC 7518
// §3.4), and the DR activation token built on them (DESIGN.md "Activation").
//
// Wire form:   BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(R || S)
//   header     = {"alg":"ES512","typ":"JWT"} when we sign; on verification a JSON object whose
//                "alg" is exactly "ES512", whose "typ", if present, is "JWT", and without "crit".
//   signature  = R || S, each left-padded to 66 bytes (132 bytes in all). Not DER.
//   activation claims = {"accessor","addr","exp","iat","jti","nbf","type":"wrapping"}
//                (exp = iat + ttl, nbf = iat - 5 s).
//
// Verification is strict and ordered so nothing unauthenticated is trusted: the token size is
// bounded (kMaxJwtSize) before anything is decoded; exactly three parts; the header is parsed and
// the algorithm pinned to ES512 (so "none", HMAC and other curves are refused); the signature is
// exactly 132 bytes with R and S in [1, n-1]; the signature is verified; only then are the claims
// parsed and checked (types, exp / nbf / iat with a clock skew, "type").
//
// Error codes: kInvalidArgument = malformed token or refused header (the message says which
// part and why); kUnauthenticated = signature does not verify, token expired, not yet valid,
// or wrong "type". Messages never contain the token or key material.
//
// Who may call: anyone, from any thread (pure functions over immutable keys). Time is passed in
// (seconds since the Unix epoch) so callers and tests control it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "rocksdr/crypto/ec_key.h"
#include "rocksdr/status.h"

namespace rocksdr::crypto {

// Largest token accepted by any verify/peek function, checked before decoding.
inline constexpr size_t kMaxJwtSize = 8 * 1024;
// Size of an ES512 signature: R || S, 66 bytes each.
inline constexpr size_t kEs512SignatureSize = 2 * kP521CoordinateSize;
// Header written by SignJwt.
inline constexpr std::string_view kEs512JwtHeader = R"({"alg":"ES512","typ":"JWT"})";

// ---- Compact JWS ----

// Signs `payload` under the protected header `header_json` (must be a JSON object with
// "alg":"ES512"). Returns the compact serialization. Errors: kInvalidArgument (bad header,
// result over kMaxJwtSize), kInternal (OpenSSL failure).
Result<std::string> SignJws(const EcPrivateKey& key, std::string_view header_json, std::string_view payload);

// Verifies a compact ES512 JWS and returns its payload bytes (any content, e.g. RFC 7515
// A.4's "Payload"). Performs every check of the header comment up to and including the
// signature; does not look inside the payload.
Result<std::string> VerifyJws(std::string_view token, const EcPublicKey& key);

// ---- JWT ----

// Signs `claims` (must be a JSON object) with header kEs512JwtHeader.
Result<std::string> SignJwt(const EcPrivateKey& key, const nlohmann::json& claims);

struct JwtVerifyOptions {
  // Current time, seconds since the Unix epoch. Required (no default: callers pass the clock).
  int64_t now = 0;
  // Tolerated disagreement between the issuer's clock and ours, applied to exp, nbf and iat.
  // Default: 30. Must be in [0, 3600].
  int64_t clock_skew_seconds = 30;
  // If set, the "type" claim must be present and equal to it. Default: not checked.
  std::optional<std::string> required_type;
  // If true, "exp" must be present. Default: true (tokens that never expire are refused).
  bool require_exp = true;
  // Used in error messages so operators know which token failed and what to do, e.g.
  // "activation token expired at ...; generate a new one on the primary". Default: "token".
  std::string token_name = "token";
  // Appended to the "expired" message, after "; ". Default: empty.
  std::string expired_hint;
};

// Verifies the JWS, then parses the payload as a JSON object and checks exp / nbf / iat
// (integers; exp > now - skew, nbf <= now + skew, iat <= now + skew) and the type.
Result<nlohmann::json> VerifyJwt(std::string_view token, const EcPublicKey& key, const JwtVerifyOptions& opts);

// ---- Activation tokens ----

inline constexpr std::string_view kActivationTokenType = "wrapping";
// Default lifetime of an activation token (DESIGN.md invariant 6): 30 minutes.
inline constexpr int64_t kDefaultActivationTtlSeconds = 30 * 60;
// nbf is set this far before iat, as Vault does.
inline constexpr int64_t kActivationNotBeforeSlackSeconds = 5;
// Bound on each string claim (addr, jti, accessor).
inline constexpr size_t kMaxActivationClaimSize = 1024;

struct ActivationClaims {
  std::string addr;      // the primary's API address, where the secondary unwraps the token
  std::string jti;       // unique token id (single use is enforced by the primary's token store)
  std::string accessor;  // the wrapping token's accessor
  std::string type = std::string(kActivationTokenType);
  int64_t iat = 0;
  int64_t nbf = 0;
  int64_t exp = 0;
};

// Claims for a new token: iat = now, nbf = now - 5, exp = now + ttl, jti = a random UUID.
// Errors: kInvalidArgument (empty or oversized addr / accessor, ttl not in [1 s, 30 days]).
Result<ActivationClaims> NewActivationClaims(std::string addr, std::string accessor, int64_t now,
                                             int64_t ttl_seconds = kDefaultActivationTtlSeconds);

// Signs the claims as an ES512 JWT. Errors: kInvalidArgument if a string claim is empty or
// over kMaxActivationClaimSize, type is not "wrapping", or not nbf <= iat < exp.
Result<std::string> IssueActivationToken(const EcPrivateKey& key, const ActivationClaims& claims);

// Verifies signature, times (with `clock_skew_seconds`) and claim types; type must be
// "wrapping". Expiry fails with kUnauthenticated "activation token expired at <time> ...;
// generate a new one on the primary".
Result<ActivationClaims> VerifyActivationToken(std::string_view token, const EcPublicKey& key, int64_t now,
                                               int64_t clock_skew_seconds = 30);

// !!! UNVERIFIED !!! Decodes the claims WITHOUT checking the signature or the times.
// The result PROVES NOTHING: anyone can forge a token that peeks successfully. It exists only
// so a secondary can learn `addr` (where to unwrap) before it contacts the primary, which then
// verifies the token for real. Never make an authorization or trust decision from it; never
// use `addr` from it without the operator's ca_file / TLS verification of that address.
// Structural checks (size, three parts, ES512 header, claim types) still apply.
Result<ActivationClaims> PeekActivationClaims(std::string_view token);

}  // namespace rocksdr::crypto
