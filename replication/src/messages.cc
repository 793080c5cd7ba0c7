// Message codec: shared field rules, file names, error codes, and the ERROR and GOODBYE messages.
#include "rocksdr/replication/messages.h"

#include "message_reader.h"
#include "wire_coding.h"

namespace rocksdr::replication {

namespace {
std::string Prefix(std::string_view message, const char* field) {
  return std::string(message) + ": field " + field + ": ";
}
}  // namespace

Status CheckId(std::string_view message, const char* field, std::string_view value, size_t max_length) {
  if (value.empty()) return Status::InvalidArgument(Prefix(message, field) + "must not be empty");
  if (value.size() > max_length) {
    return Status::ResourceExhausted(Prefix(message, field) + "is " + std::to_string(value.size()) +
                                     " bytes, over the limit of " + std::to_string(max_length));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x21 || c > 0x7e) {
      return Status::InvalidArgument(Prefix(message, field) + "byte " + std::to_string(i) +
                                     " is not printable ASCII (ids are printable ASCII without spaces)");
    }
  }
  return Status::OK();
}

Status CheckText(std::string_view message, const char* field, std::string_view value, size_t max_length) {
  if (value.size() > max_length) {
    return Status::ResourceExhausted(Prefix(message, field) + "is " + std::to_string(value.size()) +
                                     " bytes, over the limit of " + std::to_string(max_length));
  }
  return Status::OK();
}

Status CheckSequence(std::string_view message, const char* field, uint64_t value) {
  if (value > kMaxSequenceNumber) {
    return Status::InvalidArgument(Prefix(message, field) + std::to_string(value) +
                                   " is above RocksDB's largest sequence number 2^56-1");
  }
  return Status::OK();
}

Status ValidateFileName(std::string_view name, size_t max_length) {
  if (name.empty()) return Status::InvalidArgument("bootstrap file name is empty");
  if (name.size() > max_length) {
    return Status::ResourceExhausted("bootstrap file name is " + std::to_string(name.size()) +
                                     " bytes, over the limit of " + std::to_string(max_length));
  }
  if (name[0] == '.') {
    return Status::InvalidArgument("bootstrap file name starts with '.': only plain names are accepted");
  }
  if (name.find("..") != std::string_view::npos) {
    return Status::InvalidArgument("bootstrap file name contains '..': only plain names are accepted");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == '-';
    if (!plain) {
      std::string what = c == '/' || c == '\\' ? "a path separator" : "a character outside [A-Za-z0-9._-]";
      return Status::InvalidArgument("bootstrap file name has " + what + " at byte " + std::to_string(i) +
                                     ": only plain names are accepted (no directories)");
    }
  }
  return Status::OK();
}

std::string_view ErrorCodeName(uint16_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kProtocolViolation: return "protocol-violation";
    case ErrorCode::kUnsupportedVersion: return "unsupported-version";
    case ErrorCode::kClusterMismatch: return "cluster-mismatch";
    case ErrorCode::kStaleEpoch: return "stale-epoch";
    case ErrorCode::kNotAuthorized: return "not-authorized";
    case ErrorCode::kLimitExceeded: return "limit-exceeded";
    case ErrorCode::kBootstrapFailed: return "bootstrap-failed";
    case ErrorCode::kWalUnavailable: return "wal-unavailable";
    case ErrorCode::kShuttingDown: return "shutting-down";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

Status ToStatus(const ErrorMessage& m, std::string_view peer_role) {
  Code code = Code::kAborted;
  switch (static_cast<ErrorCode>(m.code)) {
    case ErrorCode::kProtocolViolation: code = Code::kCorruption; break;
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kClusterMismatch:
    case ErrorCode::kStaleEpoch: code = Code::kFailedPrecondition; break;
    case ErrorCode::kNotAuthorized: code = Code::kPermissionDenied; break;
    case ErrorCode::kLimitExceeded: code = Code::kResourceExhausted; break;
    case ErrorCode::kWalUnavailable:
    case ErrorCode::kShuttingDown: code = Code::kUnavailable; break;
    case ErrorCode::kBootstrapFailed: code = Code::kAborted; break;
    case ErrorCode::kInternal: code = Code::kInternal; break;
  }
  std::string name(ErrorCodeName(m.code));
  if (name == "unknown") name = "code " + std::to_string(m.code);
  return Status(code, std::string(peer_role) + " sent ERROR " + name + ": " + m.message);
}

// error := code:fixed16 message:string
void EncodeTo(const ErrorMessage& m, std::string* payload) {
  wire::PutFixed16(payload, m.code);
  wire::PutLengthPrefixed(payload, m.message);
}

std::string Encode(const ErrorMessage& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const ErrorMessage& m, const ProtocolLimits& limits) {
  if (m.code == 0) return Status::InvalidArgument("ERROR: field code: 0 is not an error code");
  if (m.message.empty()) return Status::InvalidArgument("ERROR: field message: must say what is wrong");
  return CheckText("ERROR", "message", m.message, limits.max_text_length);
}

Status Decode(std::string_view payload, ErrorMessage* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "ERROR");
  r.Fixed16(&m->code, "code");
  r.String(&m->message, limits.max_text_length, "message");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

// goodbye := reason:string
void EncodeTo(const Goodbye& m, std::string* payload) { wire::PutLengthPrefixed(payload, m.reason); }

std::string Encode(const Goodbye& m) {
  std::string s;
  EncodeTo(m, &s);
  return s;
}

Status Validate(const Goodbye& m, const ProtocolLimits& limits) {
  return CheckText("GOODBYE", "reason", m.reason, limits.max_text_length);
}

Status Decode(std::string_view payload, Goodbye* m, const ProtocolLimits& limits) {
  MessageReader r(payload, "GOODBYE");
  r.String(&m->reason, limits.max_text_length, "reason");
  ROCKSDR_RETURN_IF_ERROR(r.Finish());
  return Validate(*m, limits);
}

}  // namespace rocksdr::replication
