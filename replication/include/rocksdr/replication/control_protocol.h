// The control socket's wire format: what the sidecar (client) and the plugin (server) say to each
// other over the plugin's local Unix socket. Grammar, ops and error codes: replication/PROTOCOL.md,
// "Control socket". RocksDB-free: both ends include it.
//
//   message  := length:fixed32 (little-endian) json:bytes[length]     1 <= length <= 4 MiB
//   request  := {"id": uint64 >= 1, "op": string, "args": object}      ("args" may be omitted)
//   response := {"id": uint64, "ok": true, "result": object}
//             | {"id": uint64, "ok": false, "error": {"code": string, "message": string}}
//
// The first request on a connection must be "hello" (version negotiation); a response carries the
// id of its request, or 0 when the request was too malformed to read its id. Byte strings (store
// keys and values) travel as standard padded base64 in fields ending in "_b64".
//
// Every field read from the other end is validated here (type, bounds, no unknown fields) with a
// message that names the field and says what is expected; secrets (private keys) are never echoed
// in error messages.
//
// Who may call: anyone, from any thread (pure functions over values).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rocksdr/sidecar/plugin_control.h"
#include "rocksdr/status.h"

namespace rocksdr::replication::control {

inline constexpr uint32_t kProtocolVersion = 1;

// Bounds (PROTOCOL.md "Control socket", Limits).
inline constexpr size_t kMaxMessageBytes = 4 << 20;     // one JSON message
inline constexpr size_t kMaxJsonDepth = 16;             // nesting of arrays/objects
inline constexpr size_t kMaxOpBytes = 64;
inline constexpr size_t kMaxKeyBytes = 1024;            // store keys (before the local "sidecar/" prefix)
inline constexpr size_t kMaxValueBytes = 1 << 20;       // store values
inline constexpr size_t kMaxScanLimit = 100000;         // entries one Scan call may ask for
inline constexpr size_t kMaxScanEntriesPerResponse = 1000;
inline constexpr size_t kMaxScanBytesPerResponse = 2 << 20;  // raw key+value bytes in one response
inline constexpr size_t kMaxIdBytes = 256;              // secondary ids, cluster ids
inline constexpr size_t kMaxIds = 10000;                // allowed secondaries
inline constexpr size_t kMaxPemBytes = 64 << 10;        // one PEM field
inline constexpr size_t kMaxAddressBytes = 512;         // host:port
inline constexpr size_t kMaxAddresses = 16;

// Op names.
inline constexpr std::string_view kOpHello = "hello";
inline constexpr std::string_view kOpStatus = "status";
inline constexpr std::string_view kOpEnablePrimary = "enable_primary";
inline constexpr std::string_view kOpReplicationAddress = "replication_address";
inline constexpr std::string_view kOpSetAllowedSecondaries = "set_allowed_secondaries";
inline constexpr std::string_view kOpRevokeSecondary = "revoke_secondary";
inline constexpr std::string_view kOpEnableSecondary = "enable_secondary";
inline constexpr std::string_view kOpUpdatePrimary = "update_primary";
inline constexpr std::string_view kOpPromote = "promote";
inline constexpr std::string_view kOpDemote = "demote";
inline constexpr std::string_view kOpDisable = "disable";
inline constexpr std::string_view kOpRequestBootstrap = "request_bootstrap";
inline constexpr std::string_view kOpGet = "get";
inline constexpr std::string_view kOpPut = "put";
inline constexpr std::string_view kOpDelete = "delete";
inline constexpr std::string_view kOpScan = "scan";

struct Request {
  uint64_t id = 0;
  std::string op;
  nlohmann::json args = nlohmann::json::object();
};

struct Response {
  uint64_t id = 0;
  rocksdr::Status status;  // OK, or the error the other end reported
  nlohmann::json result = nlohmann::json::object();  // meaningful when status.ok()
};

// ---------------------------------------------------------------- framing
// The 4-byte header for a body of `body_size` bytes. REQUIRES: 1 <= body_size <= kMaxMessageBytes.
std::string EncodeHeader(size_t body_size);
// Reads a header. Errors: kInvalidArgument for length 0, kResourceExhausted above the bound
// (the message gives both numbers).
Result<uint32_t> DecodeHeader(const uint8_t header[4]);

// Serializes `message` as header + JSON. Errors: kResourceExhausted when the JSON exceeds
// kMaxMessageBytes; kInvalidArgument when a string is not valid UTF-8.
Result<std::string> EncodeMessage(const nlohmann::json& message);

// Parses one message body into a JSON object: depth-bounded, strict JSON, must be an object.
Result<nlohmann::json> ParseMessageBody(std::string_view body);

// ---------------------------------------------------------------- requests / responses
nlohmann::json MakeRequest(uint64_t id, std::string_view op, nlohmann::json args);
nlohmann::json MakeResponse(uint64_t id, const rocksdr::Status& status, nlohmann::json result);

// Validates a request object. On failure *id_out (if given) holds the request's id when it could
// be read (else 0), so the error response can still name it.
Result<Request> ParseRequest(const nlohmann::json& message, uint64_t* id_out = nullptr);
// Validates a response object (error codes must be known names, see CodeName in status.h).
Result<Response> ParseResponse(const nlohmann::json& message);

// The inverse of rocksdr::CodeName. Errors: kInvalidArgument for an unknown name.
Result<Code> ParseCodeName(std::string_view name);

// ---------------------------------------------------------------- argument validation
// kInvalidArgument "<what>: unknown field '<f>' (expected one of: a, b)" for a field not listed.
rocksdr::Status CheckFields(const nlohmann::json& object, std::initializer_list<std::string_view> allowed,
                            std::string_view what);
// A string field of at most max_bytes. required=false: absent -> "".
Result<std::string> GetString(const nlohmann::json& object, std::string_view field, size_t max_bytes,
                              bool required = true);
// An unsigned integer field. required=false: absent -> 0.
Result<uint64_t> GetUint(const nlohmann::json& object, std::string_view field, bool required = true);
Result<bool> GetBool(const nlohmann::json& object, std::string_view field, bool required = true);
// A base64 field decoding to at most max_bytes.
Result<std::string> GetBytes(const nlohmann::json& object, std::string_view field, size_t max_bytes,
                             bool required = true);
// An array of non-empty strings, each at most max_bytes, at most max_count of them.
Result<std::vector<std::string>> GetStringList(const nlohmann::json& object, std::string_view field,
                                               size_t max_bytes, size_t max_count, bool required = true);
std::string EncodeBytes(std::string_view bytes);  // base64 for a "_b64" field

// ---------------------------------------------------------------- typed arguments
std::string_view StoreName(sidecar::Store store);  // "replicated" | "local"
Result<sidecar::Store> ParseStore(const nlohmann::json& args);  // the "store" field

nlohmann::json PrimaryConfigToJson(const sidecar::PrimaryConfig& config);
Result<sidecar::PrimaryConfig> PrimaryConfigFromJson(const nlohmann::json& object);
nlohmann::json BundleToJson(const sidecar::ActivationBundle& bundle);
Result<sidecar::ActivationBundle> BundleFromJson(const nlohmann::json& object);

}  // namespace rocksdr::replication::control
