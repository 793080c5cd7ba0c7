// The sidecar's HTTP API vocabulary: one parsed request (ApiRequest), one response (ApiResponse),
// and the builders of Vault's response shapes (vault-dr-api.md, "Envelopes, errors, codes"):
//
//   envelope  {"request_id","lease_id":"","renewable":false,"lease_duration":0,"data",
//              "wrap_info","warnings","auth"}   — for sys/ paths the keys of data are also
//              copied to the top level, as Vault does.
//   error     {"errors":["message", ...]}        — always Content-Type application/json.
//   bare      any JSON object as is (sys/init, sys/seal-status, sys/health, the
//              generate-operation-token endpoints answer bare objects in Vault).
//   empty     204 without a body.
//
// Handlers (see router.h) receive an ApiRequest whose JSON body has already been parsed and
// checked to be an object, and read their parameters with the Get* functions below: those follow
// Vault's weak typing (an integer may come as "3", a bool as "true") and fail with a message that
// names the field, which the handler returns as a 400 with ErrorResponse(400, status.message()).
//
// Who may call: router and handlers, on any thread. Values only; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/token_entry.h"
#include "rocksdr/status.h"

namespace rocksdr::sidecar {

// HTTP methods the API knows. PUT is the same as POST (Vault), HEAD is answered as GET without
// a body, LIST is Vault's GET ...?list=true.
enum class Method { kGet, kPost, kDelete, kList };

std::string_view MethodName(Method m);

// What a route requires from the caller's token.
enum class AuthRequirement {
  kNone,   // unauthenticated (sys/init, sys/unseal, sys/seal-status, sys/health, status pages)
  kToken,  // any valid token
  kRoot,   // a token with the "root" policy
};

struct ApiRequest {
  Method method = Method::kGet;
  bool head = false;            // the HTTP method was HEAD (respond without a body)
  std::string path;             // without the "/v1/" prefix and query, e.g. "sys/init"
  std::string subpath;          // for prefix routes: the part after the route's prefix
  std::map<std::string, std::string> query;  // decoded query parameters
  nlohmann::json body = nlohmann::json::object();  // always an object once routed
  std::string raw_body;         // as received (bounded by the server's body limit)
  std::string client_token;     // from X-Vault-Token or Authorization: Bearer (secret: never log)
  std::string request_id;       // a fresh UUID per request
  std::string remote_address;   // "ip:port" of the peer, for logs
  // The caller's token entry, set by the router when the route requires authentication.
  std::optional<TokenEntry> token;
};

struct ApiResponse {
  int status = 200;
  // JSON body; ignored when `raw` is set or status is 204.
  nlohmann::json body;
  // Non-JSON body (e.g. Prometheus text) with its content type.
  std::optional<std::string> raw;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// The parts of a success envelope.
struct EnvelopeParts {
  nlohmann::json data = nullptr;       // object or null
  nlohmann::json wrap_info = nullptr;  // object or null
  std::vector<std::string> warnings;   // empty -> null
  nlohmann::json auth = nullptr;
};

// 200 with Vault's envelope. For paths under "sys/", the keys of data are copied to the top level
// (without overwriting the envelope's own keys).
ApiResponse Envelope(const ApiRequest& req, EnvelopeParts parts);
// Shorthand: data and warnings only. Write the data as nlohmann::json{...} (a bare braced list
// would be ambiguous with EnvelopeParts).
ApiResponse Envelope(const ApiRequest& req, nlohmann::json data, std::vector<std::string> warnings = {});
// 200 with `body` as is.
ApiResponse Bare(nlohmann::json body, int status = 200);
// 204, no body.
ApiResponse NoContent();
// {"errors":[message]} with the given status.
ApiResponse ErrorResponse(int status, std::string message);
// Maps a Status to an error response: kInvalidArgument / kFailedPrecondition / kAlreadyExists /
// kNotFound / kAborted / kUnauthenticated -> 400 (Vault answers bad input and invalid tokens with
// 400), kPermissionDenied -> 403, kResourceExhausted -> 429, kUnavailable -> 503,
// kDeadlineExceeded -> 504, everything else -> 500 (the message is kept; Status messages never
// hold secrets).
ApiResponse ErrorFromStatus(const Status& status);

// ---- Parameters (Vault's weak typing; errors name the field) ----

// Absent or null -> `def`. Accepts a JSON string; numbers and bools are refused for strings.
Result<std::string> GetString(const nlohmann::json& body, std::string_view field, std::string def = "");
// Accepts an integer, or a string holding one ("3"). Bounds [min, max] are checked.
Result<int64_t> GetInt(const nlohmann::json& body, std::string_view field, int64_t def,
                       int64_t min = INT64_MIN, int64_t max = INT64_MAX);
// Accepts true/false, or the strings "true"/"false"/"1"/"0".
Result<bool> GetBool(const nlohmann::json& body, std::string_view field, bool def);
// A duration in whole seconds: an integer (seconds) or a Go duration string ("30m", "1h30m",
// "90s", "45"). Bounds [min, max] in seconds are checked.
Result<int64_t> GetDurationSeconds(const nlohmann::json& body, std::string_view field, int64_t def,
                                   int64_t min = 0, int64_t max = INT64_MAX / 1000);

// Parses a Go-style duration ("300ms", "30s", "1h30m", or a bare integer meaning `bare_unit_ms`
// milliseconds per unit) into milliseconds. Bounded: at most 64 characters, at most ~292 years.
Result<int64_t> ParseDurationMs(std::string_view text, int64_t bare_unit_ms = 1000);

// A Vault-style duration text for seconds: "30m", "1h", "1h30m", "45s", "0s".
std::string FormatDurationSeconds(int64_t seconds);

}  // namespace rocksdr::sidecar
